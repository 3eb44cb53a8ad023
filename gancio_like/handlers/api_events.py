"""`/api/events` and `/api/events/ID` (SPEC §4): Gancio-like community events.

Reading is open to anyone; a token with `event:read` also shows its owner's drafts.
Writing needs `event:write` and, for an existing event, being its owner.
"""
from __future__ import annotations

from ..oauth import bearer
from ..openapi import page_of
from ..services import events
from .api import ApiHandler, public, requires_scope
from .idempotency import idempotent

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
LIST_QUERY = ("limit", "cursor", "tag", "past")

_TIME = {"type": "integer", "minimum": 0, "maximum": events.MAX_TIME, "description": "unix seconds"}
_FIELDS = {"title": {"type": "string", "maxLength": events.MAX_TITLE},
           "description": {"type": "string", "maxLength": events.MAX_DESCRIPTION},
           "start_datetime": _TIME, "end_datetime": {**_TIME, "type": ["integer", "null"]},
           "place_name": {"type": "string", "maxLength": events.MAX_PLACE},
           "place_address": {"type": "string", "maxLength": events.MAX_ADDRESS},
           "tags": {"oneOf": [{"type": "array", "maxItems": events.MAX_TAGS,
                               "items": {"type": "string", "maxLength": events.MAX_TAG}},
                              {"type": "string", "description": "comma-separated"}]},
           "published": {"type": "boolean", "default": True}}
EVENT_INPUT = {"type": "object", "properties": _FIELDS}
EVENT = {"type": "object", "required": ["id", *_FIELDS, "owner", "url"],
         "properties": {"id": {"type": "integer"}, **_FIELDS,
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "owner": {"type": "string", "description": "the owner's username"},
                        "url": {"type": "string", "format": "uri"}}}
LIST_PARAMS = [
    {"name": "tag", "in": "query", "description": "only events with this tag", "schema": {"type": "string"}},
    {"name": "past", "in": "query", "description": "earlier events instead, newest first",
     "schema": {"type": "boolean", "default": False}}]


def event_json(cfg, event) -> dict:
    return {"id": event.id, "title": event.title, "description": event.description,
            "start_datetime": event.start_datetime, "end_datetime": event.end_datetime,
            "place_name": event.place_name, "place_address": event.place_address,
            "tags": list(event.tags), "owner": event.owner, "published": event.published,
            "url": f"{cfg.issuer}/events/{event.id}"}


class EventApiHandler(ApiHandler):
    """What both event endpoints share: reading the body and who the caller is."""

    def event_fields(self) -> dict:
        """The body: JSON, or a form as Gancio's clients send it (`tags` or `tags[]` may repeat)."""
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in FORM_TYPES:
            return self.json_body()
        data = {name: self.get_body_argument(name) for name in events.FIELDS
                if name in self.request.body_arguments}
        tags = self.get_body_arguments("tags") + self.get_body_arguments("tags[]")
        if tags:
            data["tags"] = tags
        return data

    @property
    def caller_id(self) -> int | None:
        return self.current_token.user_id if self.current_token else None


class EventsHandler(EventApiHandler):
    openapi = {"GET": {"response": page_of(EVENT), "parameters": LIST_PARAMS},
               "POST": {"request": {**EVENT_INPUT, "required": ["title", "start_datetime"]},
                        "response": EVENT, "status": 201}}

    @public
    async def get(self) -> None:
        """Upcoming events (with `event:read`, your drafts too)."""
        query = {name: self.get_query_argument(name, None) for name in LIST_QUERY}
        token = self.current_token
        drafts_of = self.caller_id if token and "event:read" in token.scopes else None
        page = await events.list_events(self.db, self.fync.cursors, viewer_id=drafts_of, **query)
        self.write_json({"items": [event_json(self.cfg, e) for e in page.items],
                         "next_cursor": page.next_cursor})

    @requires_scope("event:write")
    @idempotent
    async def post(self) -> None:
        """Create an event (JSON or form)."""
        event = await events.create_event(self.db, self.caller_id, self.event_fields())
        self.set_header("Location", f"{self.cfg.issuer}/api/events/{event.id}")
        self.write_json(event_json(self.cfg, event), 201)


class EventHandler(EventApiHandler):
    openapi = {"GET": {"response": EVENT}, "PUT": {"request": EVENT_INPUT, "response": EVENT, "status": 200},
               "DELETE": {"status": 204}}

    @public
    async def get(self, event_id: str) -> None:
        """One event; your own draft needs `event:read`."""
        event = await events.get_event(self.db, int(event_id), self.caller_id)
        if not event.published:
            # Only its owner gets here; a draft is theirs to read with event:read alone.
            bearer.require_scope(self.current_token, "event:read")
        self.write_json(event_json(self.cfg, event))

    @requires_scope("event:write")
    async def put(self, event_id: str) -> None:
        """Change some fields of your event."""
        event = await events.update_event(self.db, int(event_id), self.caller_id, self.event_fields())
        self.write_json(event_json(self.cfg, event))

    @requires_scope("event:write")
    async def delete(self, event_id: str) -> None:
        """Delete your event."""
        await events.delete_event(self.db, int(event_id), self.caller_id)
        self.set_status(204)
        self.finish()


# At most 18 digits: every ID fits SQLite's 64-bit integer; longer is a plain 404.
ROUTES = [
    (r"/api/events", EventsHandler),
    (r"/api/events/([0-9]{1,18})", EventHandler),
]
