"""Friend requests and friendships: the rules the API and the /friends page share
(SPEC §2, §4; remote names per §6).

A friendship is mutual: accepting a request befriends both sides at once. Someone
who asks a person that already asked them gets an instant yes, as people expect.
Every decision is a conditional UPDATE on a pending row inside one transaction, so
an accept racing a decline (or a cancel) has exactly one outcome.

With someone on another instance (SPEC §6) a request is a `Follow`; accepting
sends `Accept` and a reciprocal `Follow`, declining a `Reject`, cancelling an
`Undo`, and removing both an `Undo` of our Follow and a `Reject` of theirs. Each
is queued (federation/delivery.py) in the transaction of the change it
announces. Activities coming in (`receive`) follow the same rules:
a Follow from someone we asked, or are friends with, is a yes at once — that is
how the reciprocal Follow lands — so both instances record one mutual friendship
whichever of the Accept and the Follow arrives first.

Whoever receives a request, or learns that theirs was accepted, is notified
(services/notify.py) in the same transaction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import clock, federation
from ..errors import Conflict, NotFound, ValidationError
from ..federation import Federation, activities, delivery
from ..federation.activities import Incoming
from ..federation.actors import actor_url
from ..models import Friend, FriendRequest, User
from ..notifications import FriendshipCreated
from ..storage import federation as federation_store
from ..storage import friends as store
from ..storage import users as user_store
from ..storage.db import Database, Transaction
from . import notify

NAME = re.compile(r"[a-z0-9_.-]{1,64}")
# DNS labels of at most 63 characters (RFC 1035 §2.3.4), a port from 1 to 65535.
PORT = r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
DOMAIN = re.compile(r"[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*" + PORT)
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


def _federation(db: Database) -> Federation | None:
    """The instance's federation when it is on: activities are queued only then."""
    fed = federation.of(db)
    return fed if fed is not None and fed.enabled else None


def _actor(fed: Federation, local_acct: str) -> str:
    """A local user's actor URL, from their acct (always built from the username)."""
    return actor_url(fed.issuer, local_acct.partition("@")[0])


async def send_request(db: Database, domain: str, me_id: int, to: str) -> FriendRequest:
    """Ask someone to be friends; if they already asked, that is a yes to their request."""
    other = await find_party(db, domain, to)
    if other.user_id == me_id:
        raise ValidationError("you cannot send a friend request to yourself", "to")
    fed = _federation(db)
    if other.remote and fed is None:
        raise ValidationError(f"{other.acct} is on another instance, and this instance does not "
                              "federate: friends on other instances are turned off here", "to")
    async with db.transaction() as tx:
        await _check_not_linked(tx, domain, me_id, other)
        theirs = await store.get_pending_request(tx, domain, other.user_id, other.remote, me_id, None)
        if theirs is not None:
            return await _accept(tx, domain, theirs.id, me_id, fed)
        follow_id = activities.new_id(fed.issuer) if other.remote else None
        request_id = await store.insert_request(tx, me_id, other.user_id, other.remote, clock.now(), follow_id)
        request = await store.get_request(tx, domain, request_id)
        if other.remote:
            await _follow(tx, fed, request, follow_id)
        else:
            await notify.request_received(tx, request)
        return request


async def _follow(tx: Transaction, fed: Federation, request: FriendRequest, follow_id: str) -> None:
    """Queue the Follow that carries a request from here to a remote acct."""
    me = _actor(fed, request.from_acct)
    activity = activities.wrap(fed.issuer, "Follow", me, activities.follow(follow_id, me, None))
    await delivery.queue(tx, request.from_user_id, request.to_acct, activity)


async def _check_not_linked(tx: Transaction, domain: str, me_id: int, other: Party) -> None:
    if await store.get_friendship_since(tx, me_id, other.user_id, other.remote) is not None:
        raise Conflict(f"you are already friends with {other.acct}")
    if await store.get_pending_request(tx, domain, me_id, None, other.user_id, other.remote):
        raise Conflict(f"you already sent {other.acct} a friend request; it is waiting for an answer")


async def accept_request(db: Database, domain: str, me_id: int, request_id: int) -> FriendRequest:
    """The recipient says yes: both sides become friends in the same transaction."""
    async with db.transaction() as tx:
        return await _accept(tx, domain, request_id, me_id, _federation(db))


async def _accept(tx: Transaction, domain: str, request_id: int, me_id: int,
                  fed: Federation | None) -> FriendRequest:
    now = clock.now()
    changed = await store.update_request_decided(tx, request_id, me_id, "accepted", now)
    request = await _settled(tx, domain, request_id, changed, me_id, recipient=True)
    await _befriend(tx, request, now)
    await notify.request_accepted(tx, request)
    if request.from_user_id is None and fed is not None:
        await _answer(tx, fed, request, "Accept")
        await _follow_back(tx, fed, request, now)
    return request


async def _answer(tx: Transaction, fed: Federation, request: FriendRequest, kind: str) -> None:
    """Queue the Accept or Reject of the remote Follow behind `request` (if one came in)."""
    follow_id = await store.get_request_activity_id(tx, request.id)
    if follow_id is not None:
        await _reply(tx, fed, request.to_user_id, request.to_acct, request.from_acct, follow_id, kind)


async def _reply(tx: Transaction, fed: Federation, user_id: int, my_acct: str, their_acct: str,
                 follow_id: str, kind: str) -> None:
    """Queue an Accept or Reject of their Follow `follow_id` of us."""
    me = _actor(fed, my_acct)
    activity = activities.wrap(fed.issuer, kind, me, activities.follow(follow_id, None, me))
    await delivery.queue(tx, user_id, their_acct, activity)


async def _follow_back(tx: Transaction, fed: Federation, request: FriendRequest, now: int) -> None:
    """The reciprocal Follow: recorded as an accepted request of ours, so its Accept finds it."""
    follow_id = activities.new_id(fed.issuer)
    mine = await store.insert_request(tx, request.to_user_id, None, request.from_acct, now, follow_id, "accepted")
    await _follow(tx, fed, await store.get_request(tx, fed.domain, mine), follow_id)


async def decline_request(db: Database, domain: str, me_id: int, request_id: int) -> FriendRequest:
    fed = _federation(db)
    async with db.transaction() as tx:
        changed = await store.update_request_decided(tx, request_id, me_id, "declined", clock.now())
        request = await _settled(tx, domain, request_id, changed, me_id, recipient=True)
        if request.from_user_id is None and fed is not None:
            await _answer(tx, fed, request, "Reject")
        return request


async def cancel_request(db: Database, domain: str, me_id: int, request_id: int) -> FriendRequest:
    fed = _federation(db)
    async with db.transaction() as tx:
        changed = await store.update_request_cancelled(tx, request_id, me_id, clock.now())
        request = await _settled(tx, domain, request_id, changed, me_id, recipient=False)
        if request.to_user_id is None and fed is not None:
            follow_id = await store.get_request_activity_id(tx, request.id)
            await _undo(tx, fed, request.from_user_id, request.from_acct, request.to_acct, follow_id)
        return request


async def _undo(tx: Transaction, fed: Federation, user_id: int, my_acct: str, their_acct: str,
                follow_id: str | None) -> None:
    """Queue the Undo of our Follow of them (a new id if we never sent one: they match by actor)."""
    me = _actor(fed, my_acct)
    follow = activities.follow(follow_id or activities.new_id(fed.issuer), me, None)
    await delivery.queue(tx, user_id, their_acct, activities.wrap(fed.issuer, "Undo", me, follow))


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
    """End a friendship, both ways (with a remote friend: their instance is told, `_part`)."""
    other = await find_party(db, domain, acct, missing="friend")
    fed = _federation(db) if other.remote else None
    me = await user_store.get_user(db, me_id) if fed else None
    async with db.transaction() as tx:
        if not await store.delete_friendship(tx, me_id, other.user_id, other.remote):
            raise NotFound("friend")
        if other.user_id is not None:
            await store.delete_friendship(tx, other.user_id, me_id, None)
        if fed is not None and me is not None:
            await _part(tx, fed, me_id, f"{me.username}@{domain}", other.remote)


async def friend_acct(db: Database, domain: str, me_id: int, text: str) -> str:
    """The acct of the friend `text` names (before asking to remove them); NotFound if none."""
    other = await find_party(db, domain, text, missing="friend")
    if await store.get_friendship_since(db, me_id, other.user_id, other.remote) is None:
        raise NotFound("friend")
    return other.acct


async def _part(tx: Transaction, fed: Federation, user_id: int, my_acct: str, their_acct: str) -> None:
    """Both follows end (SPEC §6): an Undo of ours, and a Reject of theirs — what Mastodon
    sends to remove a follower — or their instance would go on recording that they follow."""
    await _undo(tx, fed, user_id, my_acct, their_acct, await store.get_last_follow_id(tx, user_id, their_acct))
    theirs = await store.get_accepted_follow_id(tx, their_acct, user_id)
    if theirs is not None:
        await _reply(tx, fed, user_id, my_acct, their_acct, theirs, "Reject")


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


async def relation(db: Database, domain: str, me_id: int, other_id: int) -> str:
    """What `other_id` is to `me_id`, for their profile's button: "self", "friends",
    "asked" (I sent a request), "asking" (they sent me one) or "" (none of these)."""
    if me_id == other_id:
        return "self"
    if await store.get_friendship_since(db, me_id, other_id, None) is not None:
        return "friends"
    if await store.get_pending_request(db, domain, me_id, None, other_id, None) is not None:
        return "asked"
    if await store.get_pending_request(db, domain, other_id, None, me_id, None) is not None:
        return "asking"
    return ""


# -- activities from other instances (SPEC §6) --------------------------------------------------

async def receive(db: Database, incoming: Incoming) -> None:
    """Apply a verified activity from another instance, once per activity id."""
    fed = _federation(db)
    if fed is None:
        return
    user = None if incoming.username is None else await user_store.get_user_by_name(db, incoming.username)
    async with db.transaction() as tx:
        if not await federation_store.insert_seen(tx, incoming.key, incoming.actor.uri, clock.now()):
            return  # delivered before: it already did what it does
        await RECEIVERS[incoming.kind](tx, fed, incoming, user)


async def _receive_follow(tx: Transaction, fed: Federation, inc: Incoming, user: User | None) -> None:
    """A friend request; a yes at once if we asked them too or are already friends (a follow-back)."""
    if user is None:
        return
    acct, now = inc.actor.acct, clock.now()
    mine = await store.get_pending_request(tx, fed.domain, user.id, None, None, acct)
    linked = await store.get_friendship_since(tx, user.id, None, acct) is not None
    if mine is None and not linked:
        if await store.get_pending_request(tx, fed.domain, None, acct, user.id, None) is None:
            theirs = await store.insert_remote_request(tx, acct, user.id, inc.follow_id, "pending", now)
            await notify.request_received(tx, await store.get_request(tx, fed.domain, theirs))
        return
    if mine is not None:  # they asked us back: our request to them is accepted
        await store.update_request_answered(tx, mine.id, "accepted", now)
        await _befriend(tx, mine, now)
        await notify.request_accepted(tx, mine)
    theirs = await store.insert_remote_request(tx, acct, user.id, inc.follow_id, "accepted", now)
    await _answer(tx, fed, await store.get_request(tx, fed.domain, theirs), "Accept")


async def _receive_answer(tx: Transaction, fed: Federation, inc: Incoming, user: User | None) -> None:
    """Accept or Reject of our Follow. Only a pending one is accepted: a follow-back is
    recorded accepted with the friendship it completes, and its Accept arriving after a
    removal must not make the friendship again on our side alone. A Reject after
    friendship ends it ("remove follower"), even one naming no Follow we know."""
    request = await _our_follow(tx, fed, inc, user)
    acct, now = inc.actor.acct, clock.now()
    if request is None:
        if inc.kind == "Reject" and user is not None:
            await store.delete_friendship(tx, user.id, None, acct)
    elif request.status == "pending":
        accepted = inc.kind == "Accept"
        await store.update_request_answered(tx, request.id, "accepted" if accepted else "declined", now)
        if accepted and await store.get_friendship_since(tx, request.from_user_id, None, acct) is None:
            await _befriend(tx, request, now)
            await notify.request_accepted(tx, request)
    elif inc.kind == "Reject":
        await store.delete_friendship(tx, request.from_user_id, None, acct)


async def _our_follow(tx: Transaction, fed: Federation, inc: Incoming, user: User | None) -> FriendRequest | None:
    """Our request the sender answers: by the Follow's id, else our pending one to them."""
    request = None
    if inc.follow_id is not None:
        request = await store.get_request_by_activity(tx, fed.domain, inc.follow_id)
    if request is None and user is not None:
        request = await store.get_pending_request(tx, fed.domain, user.id, None, None, inc.actor.acct)
    if request is None or request.from_user_id is None or request.to_acct != inc.actor.acct:
        return None
    return request if user is None or request.from_user_id == user.id else None


async def _receive_undo(tx: Transaction, fed: Federation, inc: Incoming, user: User | None) -> None:
    """They take back their Follow: a pending request is cancelled, a friendship ends."""
    acct = inc.actor.acct
    request = None
    if inc.follow_id is not None:
        request = await store.get_request_by_activity(tx, fed.domain, inc.follow_id)
        if request is not None and (request.from_acct != acct or request.from_user_id is not None):
            request = None
    user_id = request.to_user_id if request is not None else (user.id if user is not None else None)
    if user_id is None or (user is not None and user.id != user_id):
        return
    request = request or await store.get_pending_request(tx, fed.domain, None, acct, user_id, None)
    if request is not None and request.status == "pending":
        await store.update_request_answered(tx, request.id, "cancelled", clock.now())
    else:
        await store.delete_friendship(tx, user_id, None, acct)


RECEIVERS = {"Follow": _receive_follow, "Accept": _receive_answer, "Reject": _receive_answer,
             "Undo": _receive_undo}


# What a person may do to a pending request, by the word the URLs use (API and pages).
REQUEST_ACTIONS = {"accept": accept_request, "decline": decline_request, "cancel": cancel_request}
