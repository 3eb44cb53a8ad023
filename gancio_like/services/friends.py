"""Friend requests and friendships: the rules the API and the /friends page share
(SPEC §2, §4; remote names per §6).

A friendship is mutual: accepting a request befriends both sides at once. Someone
who asks a person that already asked them gets an instant yes, as people expect.
Every decision is a conditional UPDATE on a pending row inside one transaction, so
an accept racing a decline (or a cancel) has exactly one outcome.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import clock
from ..errors import Conflict, NotFound, ValidationError
from ..models import Friend, FriendRequest
from ..notifications import FriendshipCreated
from ..storage import friends as store
from ..storage import users as user_store
from ..storage.db import Database, Transaction

NAME = re.compile(r"[a-z0-9_.-]{1,64}")
DOMAIN = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?")
MAX_DOMAIN = 260
REQUESTS_SHOWN = 100  # newest pending requests each way; more than that is a spam problem, not a list


@dataclass(frozen=True)
class Party:
    """The other side of a request or friendship: a local user, or a remote acct."""
    acct: str
    user_id: int | None

    @property
    def remote(self) -> str | None:
        """The acct to store for a remote side; None for a local one (stored by id)."""
        return None if self.user_id is not None else self.acct


def parse_acct(domain: str, text: str) -> tuple[str, str | None]:
    """`bob`, `@bob`, `bob@domain` or `@bob@domain` → (name, domain), domain None when it is us."""
    name, _, host = (text or "").strip().lower().removeprefix("@").partition("@")
    if host == domain.lower():
        host = ""
    if not NAME.fullmatch(name) or (host and not (len(host) <= MAX_DOMAIN and DOMAIN.fullmatch(host))):
        raise ValidationError("give a name like bob, or bob@other.example for someone on "
                              "another instance", "to")
    return name, host or None


async def find_party(db: Database, domain: str, text: str, missing: str = "user") -> Party:
    """The person `text` names; a local name nobody has is NotFound(`missing`)."""
    name, host = parse_acct(domain, text)
    if host is not None:
        return Party(f"{name}@{host}", None)
    user = await user_store.get_user_by_name(db, name)
    if user is None:
        raise NotFound(missing)
    return Party(f"{name}@{domain}", user.id)


async def send_request(db: Database, domain: str, me_id: int, to: str) -> FriendRequest:
    """Ask someone to be friends; if they already asked, that is a yes to their request."""
    other = await find_party(db, domain, to)
    if other.user_id == me_id:
        raise ValidationError("you cannot send a friend request to yourself", "to")
    async with db.transaction() as tx:
        await _check_not_linked(tx, domain, me_id, other)
        theirs = await store.get_pending_request(tx, domain, other.user_id, other.remote, me_id, None)
        if theirs is not None:
            return await _accept(tx, domain, theirs.id, me_id)
        request_id = await store.insert_request(tx, me_id, other.user_id, other.remote, clock.now())
        # Federation (SPEC §6): a pending request with to_acct is delivered as a Follow from here.
        return await store.get_request(tx, domain, request_id)


async def _check_not_linked(tx: Transaction, domain: str, me_id: int, other: Party) -> None:
    if await store.get_friendship_since(tx, me_id, other.user_id, other.remote) is not None:
        raise Conflict(f"you are already friends with {other.acct}")
    if await store.get_pending_request(tx, domain, me_id, None, other.user_id, other.remote):
        raise Conflict(f"you already sent {other.acct} a friend request; it is waiting for an answer")


async def accept_request(db: Database, domain: str, me_id: int, request_id: int) -> FriendRequest:
    """The recipient says yes: both sides become friends in the same transaction."""
    async with db.transaction() as tx:
        return await _accept(tx, domain, request_id, me_id)


async def _accept(tx: Transaction, domain: str, request_id: int, me_id: int) -> FriendRequest:
    now = clock.now()
    changed = await store.update_request_decided(tx, request_id, me_id, "accepted", now)
    request = await _settled(tx, domain, request_id, changed, me_id, recipient=True)
    await _befriend(tx, request, now)
    # Federation (SPEC §6): accepting a remote request queues its Accept and our Follow here.
    return request


async def decline_request(db: Database, domain: str, me_id: int, request_id: int) -> FriendRequest:
    async with db.transaction() as tx:
        changed = await store.update_request_decided(tx, request_id, me_id, "declined", clock.now())
        return await _settled(tx, domain, request_id, changed, me_id, recipient=True)


async def cancel_request(db: Database, domain: str, me_id: int, request_id: int) -> FriendRequest:
    async with db.transaction() as tx:
        changed = await store.update_request_cancelled(tx, request_id, me_id, clock.now())
        request = await _settled(tx, domain, request_id, changed, me_id, recipient=False)
        # Federation (SPEC §6): cancelling a request to a remote acct queues an Undo of the Follow here.
        return request


async def _settled(tx: Transaction, domain: str, request_id: int, changed: int, me_id: int,
                   recipient: bool) -> FriendRequest:
    """The request just decided; 404 when it is not this user's to decide, 409 when already decided."""
    request = await store.get_request(tx, domain, request_id)
    party = None if request is None else (request.to_user_id if recipient else request.from_user_id)
    if party != me_id:
        raise NotFound("friend request")  # the same answer as a missing one, so ids leak nothing
    if not changed:
        raise Conflict(f"this friend request was already {request.status}")
    return request


async def _befriend(tx: Transaction, request: FriendRequest, since: int) -> None:
    """One friendship row for each local side, pointing at the other side; plugins hear of it once."""
    sender = (request.from_user_id, None if request.from_user_id else request.from_acct)
    recipient = (request.to_user_id, None if request.to_user_id else request.to_acct)
    for (user_id, _), other in ((sender, recipient), (recipient, sender)):
        if user_id is not None:
            await store.insert_friendship(tx, user_id, *other, since)
    tx.notify(FriendshipCreated, user_acct=request.from_acct, friend_acct=request.to_acct)


async def remove_friend(db: Database, domain: str, me_id: int, acct: str) -> None:
    """End a friendship, both ways."""
    other = await find_party(db, domain, acct, missing="friend")
    async with db.transaction() as tx:
        if not await store.delete_friendship(tx, me_id, other.user_id, other.remote):
            raise NotFound("friend")
        if other.user_id is not None:
            await store.delete_friendship(tx, other.user_id, me_id, None)
        # Federation (SPEC §6): removing a remote friend queues an Undo here.


async def list_friends(db: Database, domain: str, me_id: int, limit: int,
                       position: dict | None) -> tuple[list[Friend], dict | None]:
    """A page of friends, newest first, and the position after it (None on the last page)."""
    after = None if position is None else _friends_key(position)
    friends, key = await store.list_friends(db, domain, me_id, limit, after)
    return friends, (None if key is None else {"since": key[0], "id": key[1]})


def _friends_key(position: dict) -> tuple[int, int]:
    """A cursor from another list is validly signed but means nothing here."""
    since, row_id = position.get("since"), position.get("id")
    if not (type(since) is int and type(row_id) is int) or set(position) != {"since", "id"}:
        raise ValidationError("cursor is not one this list gave out", "cursor")
    return since, row_id


async def list_requests(db: Database, domain: str, me_id: int) -> tuple[list[FriendRequest], list[FriendRequest]]:
    """Pending requests (incoming, outgoing), newest first, at most REQUESTS_SHOWN each."""
    return (await store.list_incoming_requests(db, domain, me_id, REQUESTS_SHOWN),
            await store.list_outgoing_requests(db, domain, me_id, REQUESTS_SHOWN))
