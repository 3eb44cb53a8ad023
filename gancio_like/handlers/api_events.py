"""`/api/events` and `/api/events/ID` (SPEC §4): Gancio-like community events.

Reading is open to anyone; a token with `event:read` also shows its owner's drafts.
Writing needs `event:write` and, for an existing event, being its owner.
"""
from __future__ import annotations

from .. import timezones
from ..errors import ValidationError
from ..oauth import bearer
from ..openapi import page_of
from ..services import events
from ..validation import text_pattern
from .api import ApiHandler, public, requires_scope
from .idempotency import idempotent

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
LIST_QUERY = ("limit", "cursor", "tag", "past")

# The body's rules as a schema the server holds JSON bodies to (forms, as Gancio's clients
# send them, are strings and go to the service's own checks).
_CONTROL = "\\x00-\\x1f\\x7f"
_LINE = text_pattern(_CONTROL)
_TAG = f"[^,{_CONTROL}]{{0,{events.MAX_TAG}}}"
_TIME = {"type": "integer", "minimum": 0, "maximum": events.MAX_TIME, "description": "unix seconds"}
_FIELDS = {"title": {"type": "string", "maxLength": events.MAX_TITLE,
                     "pattern": text_pattern(_CONTROL, blank_ok=False),
                     "description": "a title that is not blank, without control characters"},
           "description": {"type": "string", "maxLength": events.MAX_DESCRIPTION,
                           "pattern": text_pattern("\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f"),
                           "description": "text; line breaks and tabs are the only control characters"},
           "start_datetime": _TIME, "end_datetime": {**_TIME, "type": ["integer", "null"],
                                                     "description": "unix seconds, not before the start"},
           "place_name": {"type": "string", "maxLength": events.MAX_PLACE, "pattern": _LINE,
                          "description": "one line, without control characters"},
           "place_address": {"type": "string", "maxLength": events.MAX_ADDRESS, "pattern": _LINE,
                             "description": "one line, without control characters"},
           "tags": {"oneOf": [{"type": "array", "maxItems": events.MAX_TAGS,
                               "items": {"type": "string", "pattern": f"^{_TAG}$",
                                         "description": f"a tag: up to {events.MAX_TAG} characters, no comma"}},
                              {"type": "string", "pattern": f"^{_TAG}(,{_TAG}){{0,{events.MAX_TAGS - 1}}}$",
                               "description": f"comma-separated: up to {events.MAX_TAGS} tags"}],
                    "description": f"up to {events.MAX_TAGS} tags of up to {events.MAX_TAG} characters, "
                                   "as an array or comma-separated"},
           "published": {"type": "boolean", "default": True},
           # Every name this instance's zone database knows, so the schema says exactly what is taken.
           "timezone": {"type": "string", "enum": ["", *sorted(timezones.known_zones())],
                        "description": "the IANA time zone its times are meant in (e.g. Europe/Rome); "
                                       "empty: the owner's"}}
EVENT_INPUT = {"type": "object", "properties": _FIELDS}
EVENT = {"type": "object", "required": ["id", *_FIELDS, "owner", "url"],
         "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "description": {"type": "string"},
                        "start_datetime": _TIME, "end_datetime": _FIELDS["end_datetime"],
                        "place_name": {"type": "string"}, "place_address": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}}, "published": {"type": "boolean"},
                        "owner": {"type": "string", "description": "the owner's username"},
                        "timezone": {"type": "string", "description": "IANA name: the event's zone, else "
                                     "its owner's, else the instance's"},
                        "url": {"type": "string", "format": "uri", "description": "the event's page"}}}
LIST_PARAMS = [
    {"name": "tag", "in": "query", "description": "only events with this tag", "schema": {"type": "string"}},
    {"name": "past", "in": "query", "description": "earlier events instead, newest first",
     "schema": {"type": "boolean", "default": False}}]


def event_json(cfg, event) -> dict:
    return {"id": event.id, "title": event.title, "description": event.description,
            "start_datetime": event.start_datetime, "end_datetime": event.end_datetime,
            "place_name": event.place_name, "place_address": event.place_address,
            "tags": list(event.tags), "owner": event.owner, "published": event.published,
            "timezone": event.zone(cfg.instance.timezone), "url": f"{cfg.issuer}/events/{event.id}"}


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
                        "response": EVENT, "status": 201, "links": {
                            f"{method}_event": {"operationId": f"{method}_event",
                                                "parameters": {"event_id": "$response.body#/id"}}
                            for method in ("get", "put", "delete")}}}

    @public
    async def get(self) -> None:
        """Upcoming events (with `event:read`, your drafts too)."""
        query = {name: self.get_query_argument(name, None) for name in LIST_QUERY}
        if query["past"] not in (None, "true", "false"):  # pages' forms may say "on"; the API is typed
            raise ValidationError("past must be true or false", "past")
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
