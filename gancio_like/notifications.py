"""What happened on the instance, as small records plugins are told about (SPEC §7).

Storage and services record one inside a write transaction with `tx.notify(...)`;
the database hands it to the plugins only after that transaction commits, so a
listener never hears of something that was rolled back. No internal imports.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserCreated:
    hook = "fync_user_created"
    user_id: int
    username: str


@dataclass(frozen=True)
class FriendshipCreated:
    hook = "fync_friendship_created"
    user_acct: str
    friend_acct: str


@dataclass(frozen=True)
class EventCreated:
    hook = "fync_event_created"
    event_id: int
    owner_id: int
    title: str


@dataclass(frozen=True)
class TokenIssued:
    hook = "fync_token_issued"
    client_id: str
    user_id: int
    scope: str
    grant_type: str


@dataclass(frozen=True)
class TokenRevoked:
    """A grant (a whole token family) or one access token ended."""
    hook = "fync_token_revoked"
    user_id: int | None
    client_pk: int | None
    reason: str
