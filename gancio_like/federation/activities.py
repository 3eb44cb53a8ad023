"""The four activities a friendship is made of (SPEC §6; ActivityPub §7.5-7.6):
`Follow` (a friend request), `Accept` and `Reject` of a Follow (yes, no), and
`Undo` of a Follow (a cancelled request, or a friendship ended).

Going out, they are queued before the recipient's actor URL is known (that needs
WebFinger, done by the delivery worker): in a Follow — the activity itself or
the object of an Accept, Reject or Undo — an `actor` or `object` that is None
stands for the recipient, and `address()` fills it in.

Coming in, `parse()` turns a verified activity into an `Incoming` record, or None
for anything a friendship does not care about (which the inbox accepts and ignores).
An id longer than MAX_ID_BYTES (federation/__init__.py) is refused (400).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..errors import ValidationError
from ..storage.federation import RemoteActor
from . import MAX_ID_BYTES, host_of, too_long
from .actors import AS_CONTEXT, local_username

KINDS = ("Follow", "Accept", "Reject", "Undo")


def new_id(issuer: str) -> str:
    return f"{issuer}/activities/{uuid.uuid4()}"


def follow(follow_id: str, actor: str | None, object_: str | None) -> dict:
    return {"id": follow_id, "type": "Follow", "actor": actor, "object": object_}


def wrap(issuer: str, kind: str, actor: str, obj: dict) -> dict:
    """An activity with its context, a fresh id (a Follow keeps its own), `actor` and `object`."""
    if kind == "Follow":
        return {"@context": AS_CONTEXT, **obj}
    return {"@context": AS_CONTEXT, "id": new_id(issuer), "type": kind, "actor": actor, "object": obj}


def address(activity: dict, recipient: str) -> dict:
    """The activity with every None actor/object of its Follow set to the recipient's actor id."""
    def fill(obj: dict) -> dict:
        return {**obj, **{k: recipient for k in ("actor", "object") if k in obj and obj[k] is None}}
    if activity.get("type") == "Follow":
        return fill(activity)
    if isinstance(activity.get("object"), dict):
        return {**activity, "object": fill(activity["object"])}
    return activity


@dataclass(frozen=True)
class Incoming:
    """A verified activity about a friendship, reduced to what the rules need."""
    id: str
    kind: str                  # Follow | Accept | Reject | Undo
    actor: RemoteActor         # who sent it (signature checked)
    follow_id: str | None      # the Follow it is, or is about
    username: str | None       # the local user concerned, when the activity names them

    @property
    def key(self) -> str:
        """What the inbox remembers as applied: the id, with the Follow an answer is about.
        Some peers reuse an id for every answer to one person (Hollo: `#accepts/<follower>`),
        so the Accept of a second Follow is not the first one delivered again."""
        return self.id if self.follow_id in (None, self.id) else f"{self.id} {self.follow_id}"


def parse(issuer: str, actor: RemoteActor, activity: dict) -> Incoming | None:
    """An Incoming, or None when the activity is none of ours to apply."""
    kind = activity.get("type")
    activity_id = _id_of(activity) if kind in KINDS else None
    if activity_id is None or host_of(activity_id) != host_of(actor.uri):
        return None  # an id on another host could be used to make us ignore that host's real one
    if kind == "Follow":
        name = local_username(issuer, _id_of(activity.get("object")))
        return None if name is None else Incoming(activity_id, kind, actor, activity_id, name)
    obj = activity.get("object")
    if isinstance(obj, str):
        return Incoming(activity_id, kind, actor, _id_of(obj), None)
    if not isinstance(obj, dict) or obj.get("type") != "Follow":
        return None
    # Accept and Reject answer a Follow *to* the sender; Undo takes back a Follow *by* the sender.
    them, us = ("actor", "object") if kind == "Undo" else ("object", "actor")
    if _id_of(obj.get(them)) not in (actor.uri, None):
        return None
    name = local_username(issuer, _id_of(obj.get(us)))
    follow_id = _id_of(obj)
    if name is None and follow_id is None:
        return None
    return Incoming(activity_id, kind, actor, follow_id, name)


def _id_of(value) -> str | None:
    """An object given by its id or embedded with one; ValidationError when the id is too long."""
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str):
        return None
    if too_long(value):
        raise ValidationError(f"an id in the activity is longer than {MAX_ID_BYTES} bytes")
    return value
