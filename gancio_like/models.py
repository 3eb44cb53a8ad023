"""Plain records that storage returns and everyone else reads. No internal imports."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    bio: str
    is_admin: bool
    created_at: int
    interests: tuple[str, ...] = field(default=())

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True)
class Client:
    """A registered OAuth client (app)."""
    pk: int
    client_id: str
    name: str
    description: str
    website: str
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    auth_method: str          # client_secret_basic | client_secret_post | none
    source: str               # portal | gancio | rfc7591 | cimd
    status: str               # active | pending | disabled
    owner_id: int | None
    created_at: int
    secret_hash: bytes | None = field(default=None, repr=False)
    registration_token_hash: bytes | None = field(default=None, repr=False)

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"

    @property
    def anonymous(self) -> bool:
        """Registered by nobody we know (open registration or a metadata URL)."""
        return self.source != "portal"


@dataclass(frozen=True)
class AccessGrant:
    """What a valid access token lets its bearer do."""
    user_id: int
    client_pk: int
    client_id: str
    grant_id: int
    scopes: frozenset[str]
    expires_at: int | None
