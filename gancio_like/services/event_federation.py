"""Events over ActivityPub (SPEC §6): what publishing, editing and deleting an event
sends, who follows the events actor, and what a friend's instance's events do here.

Going out, inside the transaction of the change (so both commit together): a
published event is a `Create`, an edit of a published one an `Update`, deleting or
unpublishing it a `Delete`. Each goes to the owner's remote friends, signed by the
owner, and to the followers of the events actor, signed by it. Drafts send nothing.

Coming in, a remote friend's event is stored and shown; only a friend of someone
here can add one, and only its author can update or delete it: anyone else's Update
or Delete is refused (403) and changes nothing. A new one tells the author's local
friends (on_remote_event_created).
"""
from __future__ import annotations

from .. import clock, federation
from ..errors import Forbidden, NotFound
from ..federation import Federation, delivery, events_actor
from ..federation.actors import actor_url
from ..federation.event_objects import IncomingEvent, activity, event_object
from ..federation.events_actor import IncomingFollow
from ..models import Event
from ..storage import events as event_store
from ..storage import federation as store
from ..storage import friends as friend_store
from ..storage import remote_events as remote_store
from ..storage.db import Database, Transaction
from ..storage.federation import RemoteActor
from . import notify


UNENDED_FOR = 86400  # as services/feeds.py


def _federation(db) -> Federation | None:
    fed = federation.of(db)
    return fed if fed is not None and fed.enabled else None


def change_kind(before: Event | None, after: Event | None) -> str | None:
    """What a change of an event is to the fediverse: Create, Update, Delete, or nothing."""
    was, now = before is not None and before.published, after is not None and after.published
    if now:
        return "Update" if was else "Create"
    return "Delete" if was else None


async def announce(tx: Transaction, db: Database, before: Event | None, after: Event | None) -> None:
    """Queue the activity an event change means, to the owner's remote friends and the
    events actor's followers (nothing when federation is off or the event is a draft)."""
    fed, kind = _federation(db), change_kind(before, after)
    if fed is None or kind is None:
        return
    event, zone = after if kind != "Delete" else before, fed.cfg.instance.timezone
    owner = actor_url(fed.issuer, event.owner)
    friends = await friend_store.list_remote_friend_accts(tx, event.owner_id)
    if friends:
        sent = activity(fed.issuer, kind, owner, event, zone)
        for acct in friends:
            await delivery.queue(tx, event.owner_id, acct, sent)
    followers = await store.list_event_followers(tx)
    if followers:
        sent = activity(fed.issuer, kind, events_actor.actor_url(fed.issuer), event, zone)
        for follower in followers:
            await delivery.queue(tx, None, follower.acct, sent, follower.inbox)


async def event_document(db: Database, cfg, event_id: int) -> dict:
    """`GET /events/ID` as ActivityStreams: the published event's `Event` (a draft is 404)."""
    event = await event_store.get_event(db, event_id)
    if event is None or not event.published:
        raise NotFound("event")
    return event_object(cfg.issuer, event, cfg.instance.timezone)


async def upcoming_remote_events(db: Database, tag: str | None, limit: int = 20) -> list:
    """Friends' events from other instances that are not over, first the soonest."""
    found = await remote_store.list_remote_events(db, clock.now(), UNENDED_FOR, limit if tag is None else 500)
    return [e for e in found if tag is None or tag in e.tags][:limit]


async def remote_event(db: Database, event_id: int):
    found = await remote_store.get_remote_event(db, event_id)
    if found is None:
        raise NotFound("event")
    return found


# -- the events actor's followers ---------------------------------------------------------------

async def receive_follow(db: Database, incoming: IncomingFollow) -> None:
    """A Follow of the events actor is accepted at once; an Undo of it unfollows."""
    fed = _federation(db)
    if fed is None:
        return
    follower = incoming.actor
    async with db.transaction() as tx:
        if not await store.insert_seen(tx, incoming.activity_id, follower.uri, clock.now()):
            return
        if incoming.kind == "Undo":
            await store.delete_event_follower(tx, follower.uri)
            return
        await store.insert_event_follower(tx, follower.uri, incoming.follow_id, clock.now())
        answer = events_actor.accept(fed.issuer, incoming.follow_id, follower.uri)
        await delivery.queue(tx, None, follower.acct, answer, follower.inbox)


# -- friends' events ----------------------------------------------------------------------------

async def receive_event(db: Database, incoming: IncomingEvent) -> None:
    """Store, update or delete a remote event; 403 when the sender is not its author."""
    if _federation(db) is None:
        return
    async with db.transaction() as tx:
        if not await store.insert_seen(tx, incoming.activity_id, incoming.actor.uri, clock.now()):
            return
        stored = await remote_store.get_remote_event_by_uri(tx, incoming.uri)
        if stored is not None and stored.actor_uri != incoming.actor.uri:
            raise Forbidden("only the event's author may change or delete it")
        if incoming.kind == "Delete":
            if stored is not None:
                await remote_store.delete_remote_event(tx, incoming.uri)
            return
        await _keep(tx, incoming, is_new=stored is None)


async def _keep(tx: Transaction, incoming: IncomingEvent, is_new: bool) -> None:
    """A friend's event stored; a new one is told to their local friends. From anyone
    no one here is friends with, it is none of ours and is dropped."""
    friends = await friend_store.list_users_befriending(tx, incoming.actor.acct)
    if is_new and not friends:
        return
    event_id = await remote_store.upsert_remote_event(tx, incoming.values, clock.now())
    if is_new:
        await on_remote_event_created(tx, friends, incoming.actor, event_id, incoming.values["url"])


async def on_remote_event_created(tx: Transaction, user_ids: list[int], author: RemoteActor, event_id: int,
                                  url: str) -> None:
    """A remote friend published an event: each of `user_ids`, their local friends, gets
    `friend_event`, in the transaction that stores it, linking to the event's page here
    (`url`, its page on its own instance, is linked from there)."""
    for user_id in user_ids:
        await notify.record(tx, user_id, "friend_event", author.acct, event_id, f"/events/remote/{event_id}")
