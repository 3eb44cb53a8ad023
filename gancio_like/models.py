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
