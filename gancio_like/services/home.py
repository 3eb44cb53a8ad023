"""The home page of someone logged in (SPEC §2 `/`): what asks for their attention and
what is coming up, in a few short lists, or a first-run guide for a new account."""
from __future__ import annotations

from dataclasses import dataclass

from .. import clock
from ..models import Event, FriendRequest, RemoteEvent, Suggestion, User
from ..storage import events as event_store
from ..storage import friends as friend_store
from ..storage.db import Database
from . import event_federation, friends, suggestions

SHOWN = 5  # of each list; each links to its whole page


@dataclass(frozen=True)
class Home:
    incoming: list[FriendRequest]
    events: list[Event | RemoteEvent]
    people: list[Suggestion]
    friend_count: int

    def first_steps(self, user: User) -> dict[str, bool] | None:
        """For a new account (no friends, or no interests yet): each first step and whether it
        is done; None once both are, when the lists speak for themselves."""
        if self.friend_count and user.interests:
            return None
        return {"picture": user.avatar_version > 0, "interests": bool(user.interests),
                "friends": self.friend_count > 0}


async def home(db: Database, domain: str, user: User) -> Home:
    incoming, _ = await friends.list_requests(db, domain, user.id)
    return Home(incoming[:SHOWN], await coming_events(db, user.id), await suggestions.suggest(db, user.id, SHOWN),
                await friend_store.count_friends(db, user.id))


async def coming_events(db: Database, user_id: int) -> list[Event | RemoteEvent]:
    """The person's and their friends' events that are not over, here and on their
    friends' instances, soonest first."""
    local = await event_store.list_upcoming_with_friends(db, user_id, clock.now(), SHOWN)
    accts = set(await friend_store.list_remote_friend_accts(db, user_id))
    remote = [e for e in await event_federation.upcoming_remote_events(db, None, 100) if e.acct in accts] if accts else []
    return sorted(local + remote[:SHOWN], key=lambda e: e.start_datetime)[:SHOWN]
