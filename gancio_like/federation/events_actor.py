"""The events actor `events@DOMAIN` (SPEC §6): an `Application` at `/actor/events` that
anyone — on Mastodon, Gancio or Fedify-based software — can follow to receive the
instance's public events, as Gancio's own instance actor offers.

Every Follow is accepted at once (the events are public anyway) and an Undo of it
unfollows. Deliveries it signs are queued with no user (delivery.py), signed with
its own key pair, kept in `instance_keys`. Its outbox shows the next public events
as Create activities, so a follower can fill its calendar at once (Gancio reads it).
"""
from __future__ import annotations

import html
from dataclasses import dataclass

from .. import clock
from ..storage import events as event_store
from ..storage import federation as store
from ..storage.federation import RemoteActor
from . import Federation, host_of, keys
from .activities import new_id
from .actors import ACTOR_CONTEXT, AS_CONTEXT
from .event_objects import EVENT_CONTEXT, activity

NAME = "events"
OUTBOX_ITEMS = 20
UNENDED_FOR = 86400  # as services/feeds.py: an event with no end is on for a day


def actor_url(issuer: str) -> str:
    return f"{issuer}/actor/{NAME}"


def key_id(issuer: str) -> str:
    return actor_url(issuer) + "#main-key"


async def signer(fed: Federation) -> tuple[str, str, str]:
    """(keyId, private PEM, key cache name): what delivery.py signs the actor's POSTs with."""
    pair = await keys.instance_key_pair(fed.db, NAME)
    return key_id(fed.issuer), pair.private_pem, f"instance:{NAME}"


async def document(fed: Federation) -> dict:
    url, pair = actor_url(fed.issuer), await keys.instance_key_pair(fed.db, NAME)
    name = fed.cfg.instance.name
    return {
        "@context": ACTOR_CONTEXT, "id": url, "type": "Application",
        "preferredUsername": NAME, "name": f"{name} events",
        "summary": f"<p>The public events of {html.escape(name)}. Follow to get each one as it is published.</p>",
        "url": f"{fed.issuer}/events",
        "inbox": f"{url}/inbox", "outbox": f"{url}/outbox",
        "followers": f"{url}/followers", "following": f"{url}/following",
        "manuallyApprovesFollowers": False,
        "publicKey": {"id": key_id(fed.issuer), "owner": url, "publicKeyPem": pair.public_pem},
        "endpoints": {"sharedInbox": f"{fed.issuer}/inbox"},
    }


async def collection(fed: Federation, which: str) -> dict:
    """followers (its size), following (none), or the outbox with the next public events."""
    url = f"{actor_url(fed.issuer)}/{which}"
    doc = {"@context": AS_CONTEXT, "id": url, "type": "OrderedCollection", "totalItems": 0}
    if which == "followers":
        doc["totalItems"] = await store.count_event_followers(fed.db)
    elif which == "outbox":
        upcoming = await event_store.list_unended(fed.db, clock.now(), UNENDED_FOR, limit=OUTBOX_ITEMS)
        items = [activity(fed.issuer, "Create", actor_url(fed.issuer), e, fed.cfg.instance.timezone)
                 for e in upcoming]
        for item in items:
            item.pop("@context")  # the collection's context covers them
        doc.update({"@context": EVENT_CONTEXT, "totalItems": len(items),
                    "first": {"id": f"{url}?page=1", "type": "OrderedCollectionPage", "partOf": url,
                              "orderedItems": items}})
    return doc


# -- Follow and Undo ----------------------------------------------------------------------------

@dataclass(frozen=True)
class IncomingFollow:
    kind: str              # Follow | Undo
    activity_id: str
    actor: RemoteActor
    follow_id: str         # the Follow itself, or the one undone


def parse(issuer: str, actor: RemoteActor, activity_: dict) -> IncomingFollow | None:
    """A Follow of the events actor, or the Undo of one; None for anything else."""
    kind, activity_id = activity_.get("type"), activity_.get("id")
    if kind not in ("Follow", "Undo") or not isinstance(activity_id, str) or host_of(activity_id) != host_of(actor.uri):
        return None
    follow = activity_ if kind == "Follow" else activity_.get("object")
    if not isinstance(follow, dict) or follow.get("type") != "Follow":
        return None
    target = follow.get("object")
    target = target.get("id") if isinstance(target, dict) else target
    follower = follow.get("actor")
    follower = follower.get("id") if isinstance(follower, dict) else follower
    if target != actor_url(issuer) or follower not in (actor.uri, None) or not isinstance(follow.get("id"), str):
        return None
    return IncomingFollow(kind, activity_id, actor, follow["id"])


def accept(issuer: str, follow_id: str, follower: str) -> dict:
    """The Accept of `follower`'s Follow of the events actor."""
    me = actor_url(issuer)
    return {"@context": AS_CONTEXT, "id": new_id(issuer), "type": "Accept", "actor": me,
            "object": {"id": follow_id, "type": "Follow", "actor": follower, "object": me}}
