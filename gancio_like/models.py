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
    email: str | None = None
    timezone: str = ""        # IANA name; "" = the instance's default
    locale: str = ""          # chosen language; "" = the browser's
    avatar_version: int = 0   # 0 = the generated default

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
    user: User | None = None


@dataclass(frozen=True)
class Friend:
    """One side of a mutual friendship, as the other side sees it."""
    acct: str                 # name@domain, local or remote
    username: str             # local username, or the remote's name part
    display_name: str
    user_id: int | None       # None for a remote friend
    since: int
    avatar_version: int = 0   # a local friend's (User.avatar_version)


@dataclass(frozen=True)
class FriendRequest:
    id: int
    from_acct: str
    to_acct: str
    from_user_id: int | None  # None when it came from another instance
    to_user_id: int | None    # None when it goes to another instance
    status: str               # pending | accepted | declined | cancelled
    created_at: int
    from_avatar_version: int = 0  # of a local sender (User.avatar_version)
    to_avatar_version: int = 0    # of a local recipient
    from_display_name: str = ""   # of a local sender
    to_display_name: str = ""     # of a local recipient


@dataclass(frozen=True)
class Suggestion:
    user: User
    score: float
    shared_interests: tuple[str, ...]
    mutual_friends: int


@dataclass(frozen=True)
class Event:
    """A Gancio-like community event; times are unix seconds."""
    id: int
    owner_id: int
    owner: str                # the owner's username
    title: str
    description: str
    start_datetime: int
    end_datetime: int | None
    place_name: str
    place_address: str
    tags: tuple[str, ...]
    published: bool
    created_at: int
    updated_at: int
    timezone: str = ""        # IANA name the local times were given in; "" = the owner's
    owner_timezone: str = ""  # the owner's own setting; "" = the instance's default
    owner_avatar_version: int = 0

    def zone(self, default: str) -> str:
        """The zone its times are meant in: its own, else its owner's, else `default`."""
        return self.timezone or self.owner_timezone or default


@dataclass(frozen=True)
class RemoteEvent:
    """A remote friend's event, as their instance sent it; times are unix seconds."""
    id: int
    uri: str                  # the Event's ActivityPub id
    actor_uri: str            # its author: the only one who may change it
    acct: str                 # the author's name@domain
    url: str                  # its page on its own instance
    title: str
    description: str
    start_datetime: int
    end_datetime: int | None
    place_name: str
    place_address: str
    timezone: str             # IANA name, or "" when it named none
    tags: tuple[str, ...]
    received_at: int
    updated_at: int

    @property
    def domain(self) -> str:
        return self.acct.partition("@")[2]


@dataclass(frozen=True)
class Actor:
    """Who did what a notification tells: a local user, or someone on another instance."""
    acct: str                 # name@domain
    display_name: str         # "" when unknown (remote people)
    username: str | None      # a local user's name (their avatar and page); None for remote
    avatar_version: int = 0


@dataclass(frozen=True)
class Notification:
    """Something that happened to `user_id` (SPEC §4 `GET /api/notifications`)."""
    id: int
    user_id: int
    type: str                 # friend_request | friend_accepted | friend_event | a plugin's
    actor: Actor
    object_id: int | None     # the friend request or event it is about
    url: str                  # absolute, or a path on this instance
    created_at: int
    read: bool


@dataclass(frozen=True)
class PushSubscription:
    """A device an app subscribed to Web Push for its person (SPEC §4)."""
    id: int
    grant_id: int
    user_id: int
    endpoint: str
    p256dh: str = field(repr=False)
    auth: str = field(repr=False)  # with p256dh, what the payload is encrypted for
    created_at: int = 0
    last_delivered_at: int | None = None
    app_name: str = ""        # the app holding the grant, for the person's settings page
