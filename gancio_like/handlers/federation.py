"""ActivityPub endpoints (SPEC §6): actors, their collections, and the inboxes.

`GET /users/NAME` answers the `Person` document to `Accept: application/activity+json`
(or `application/ld+json`), and redirects browsers to the profile page `/u/NAME`;
`GET /actor/events`, the events actor, likewise (browsers go to `/events`).
Actors are served even with `[federation] enabled = false` (WebFinger still points
at them, and they reveal nothing the profile page does not); inboxes then answer 403.
"""
from __future__ import annotations

import json

from ..errors import Forbidden
from ..federation import actors, events_actor, inbox
from ..federation.actors import ACTIVITY_JSON
from ..services.inbox import receive
from .base import JsonHandler


class FederationHandler(JsonHandler):
    @property
    def federation(self):
        return self.application.federation

    def write_activity_json(self, document: dict) -> None:
        self.set_header("Content-Type", ACTIVITY_JSON)
        self.set_header("Vary", "Accept")
        self.finish(json.dumps(document, separators=(",", ":")))


class ActorHandler(FederationHandler):
    """`GET /users/NAME`: the Person, or (for browsers) a redirect to the profile page."""

    async def get(self, name: str) -> None:
        user = await actors.local_user(self.federation, name)
        if not actors.wants_activity_json(self.request.headers.get("Accept")):
            self.set_header("Vary", "Accept")
            return self.redirect(f"/u/{user.username}")
        self.write_activity_json(await actors.person(self.federation, user))


class CollectionHandler(FederationHandler):
    """`GET /users/NAME/outbox|followers|following`: sizes only, no items."""

    async def get(self, name: str, which: str) -> None:
        user = await actors.local_user(self.federation, name)
        self.write_activity_json(await actors.collection(self.federation, user, which))


class EventsActorHandler(FederationHandler):
    """`GET /actor/events`: the events actor, or (for browsers) a redirect to the events page."""

    async def get(self) -> None:
        if not actors.wants_activity_json(self.request.headers.get("Accept")):
            self.set_header("Vary", "Accept")
            return self.redirect("/events")
        self.write_activity_json(await events_actor.document(self.federation))


class EventsActorCollectionHandler(FederationHandler):
    """`GET /actor/events/outbox|followers|following`."""

    async def get(self, which: str) -> None:
        self.write_activity_json(await events_actor.collection(self.federation, which))


class InboxHandler(FederationHandler):
    """`POST /users/NAME/inbox`, `/actor/events/inbox` and `/inbox`: signed activities
    from other instances (RFC 9421 or draft-cavage)."""

    async def post(self, name: str | None = None) -> None:
        if not self.federation.enabled:
            raise Forbidden("this instance does not federate")
        if name is not None:
            await actors.local_user(self.federation, name)
        actor, activity = await inbox.verify(self.federation, self.request.method, self.request.uri,
                                             self.request.headers, self.request.body)
        await receive(self.db, self.cfg.issuer, actor, activity)
        self.set_status(202)
        self.finish()


USERNAME = r"([a-z0-9_]{1,30})"
ROUTES = [
    (rf"/users/{USERNAME}", ActorHandler),
    (rf"/users/{USERNAME}/(outbox|followers|following)", CollectionHandler),
    (rf"/users/{USERNAME}/inbox", InboxHandler),
    (r"/inbox", InboxHandler),
    (r"/actor/events", EventsActorHandler),
    (r"/actor/events/(outbox|followers|following)", EventsActorCollectionHandler),
    (r"/actor/events/inbox", InboxHandler),
]
