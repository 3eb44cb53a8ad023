"""What a verified activity from another instance is about, and who applies it (SPEC §6):
a Follow or Undo of the events actor, a friendship's Follow/Accept/Reject/Undo, or a
Create/Update/Delete of a friend's event. Anything else is accepted and ignored."""
from __future__ import annotations

from ..federation import event_objects, events_actor
from ..federation.activities import parse as parse_friendship
from ..instance import Instance
from ..storage.federation import RemoteActor
from . import event_federation, friends


async def receive(inst: Instance, actor: RemoteActor, activity: dict) -> None:
    follow = events_actor.parse(inst.issuer, actor, activity)
    if follow is not None:
        return await event_federation.receive_follow(inst, follow)
    friendship = parse_friendship(inst.issuer, actor, activity)
    if friendship is not None:
        return await friends.receive(inst, friendship)
    about_event = event_objects.parse(actor, activity)
    if about_event is not None:
        await event_federation.receive_event(inst, about_event)
