"""Notifications: what tells people that something happened to them (SPEC §4, the
`notifications` rows and the Web Push paragraph).

One way in, `record(tx, ...)`, called inside the transaction of the change it tells
of, so the two commit (or roll back) together; the database queues the row's pushes
in the same transaction (migrations/0011_push.sql). Core types:

- `friend_request`: someone asked to be your friend (here, or a `Follow` from afar);
- `friend_accepted`: someone accepted your request (here, or their `Accept`);
- `friend_event`: a friend published an event — created published, or a draft turned
  published; each local friend is told once per event. Edits tell nobody: an event
  changes often (a typo, a new time), and a stream of "changed" pushes teaches people
  to turn them off. Remote friends' events are recorded by the events federation.

Plugins add types with the `fync_notification_types` hook and record them with the
same `record` (exported as `gancio_like.plugins.record_notification`).
"""
from __future__ import annotations

from .. import clock
from ..errors import ValidationError
from ..models import Event, FriendRequest, Notification
from ..notification_types import TYPE
from ..pagination import Cursors
from ..storage import notifications as store
from ..storage.db import Database, Transaction

UNREAD_SHOWN = 100  # the header counts up to here, then says "99+"
MAX_URL = 1024  # with the texts' limits, a push payload stays below 4 KB


# -- recording ---------------------------------------------------------------------------------

async def record(tx: Transaction, user_id: int, type: str, actor: int | str, object_id: int | None = None,
                 url: str = "") -> int | None:
    """Tell `user_id` that `actor` did something, inside the transaction `tx` of that change.

    `type`: `friend_request`, `friend_accepted`, `friend_event`, or a plugin's `NAME:kind`.
    `actor`: a local user's id, or the acct (`name@domain`) of someone on another instance.
    `object_id`: what it is about (the friend request's or event's id), if anything.
    `url`: where to look: a path here (`/events/7`) or an absolute https URL elsewhere.
    Returns the notification's id; None when the actor is the person themself (nobody
    is told of what they did). Each of the person's devices gets a push of it."""
    _check(type, actor, url)
    if actor == user_id:
        return None
    local = isinstance(actor, int)
    return await store.insert_notification(tx, user_id, type, actor if local else None, "" if local else actor,
                                           object_id, url, clock.now())


def _check(type_: str, actor: int | str, url: str) -> None:
    """A caller's mistake (a bug, not bad input from a person) is caught before it is stored."""
    if not isinstance(type_, str) or not TYPE.fullmatch(type_):
        raise ValueError(f"notification type {type_!r} must be a name like friend_request or plugin:kind")
    if not (type(actor) is int or (isinstance(actor, str) and "@" in actor.strip("@") and len(actor) <= 300)):
        raise ValueError(f"the actor must be a local user's id or a remote acct, not {actor!r}")
    if not isinstance(url, str) or len(url) > MAX_URL or not (url == "" or url.startswith(("/", "https://", "http://"))):
        raise ValueError(f"a notification's url must be a local path or an http(s) URL, not {url!r}")


async def request_received(tx: Transaction, request: FriendRequest) -> None:
    """A new pending request: its recipient (here) is told, by whoever sent it."""
    sender = request.from_user_id if request.from_user_id is not None else request.from_acct
    await record(tx, request.to_user_id, "friend_request", sender, request.id, "/friends")


async def request_accepted(tx: Transaction, request: FriendRequest) -> None:
    """A request was accepted: its sender (if here) is told, by the one who accepted it."""
    if request.from_user_id is None:
        return  # their own instance tells them
    if request.to_user_id is not None:
        who, url = request.to_user_id, f"/u/{request.to_acct.partition('@')[0]}"
    else:
        who, url = request.to_acct, "/friends"
    await record(tx, request.from_user_id, "friend_accepted", who, request.id, url)


async def event_published(tx: Transaction, before: Event | None, after: Event) -> None:
    """An event created published, or a draft turned published: each local friend of its
    owner is told, in one statement (edits of a published event tell nobody)."""
    if after.published and (before is None or not before.published):
        await store.insert_friend_event(tx, after.owner_id, after.id, f"/events/{after.id}", clock.now())


# -- reading -----------------------------------------------------------------------------------

async def list_notifications(db: Database, cursors: Cursors, domain: str, user_id: int, limit: int,
                    cursor: str | None) -> tuple[list[Notification], str | None]:
    """A page of the person's notifications, newest first, and the cursor of the next (or None)."""
    position = cursors.decode(cursor)
    before = None
    if position is not None:
        before = position.get("n")
        if type(before) is not int or set(position) != {"n"}:
            raise ValidationError("cursor is not one this list gave out", "cursor")
    rows = await store.list_notifications(db, domain, user_id, limit + 1, before)
    items = rows[:limit]
    return items, (cursors.encode({"n": items[-1].id}) if len(rows) > limit else None)


async def count_unread(db: Database, user_id: int) -> int:
    """Unread notifications, up to UNREAD_SHOWN (the header's badge)."""
    return await store.count_unread(db, user_id, UNREAD_SHOWN)


async def mark_read(db: Database, user_id: int, up_to: int) -> int:
    """Mark the person's notifications up to id `up_to` (and older) read; how many were unread."""
    async with db.transaction() as tx:
        return await store.update_read(tx, user_id, up_to, clock.now())
