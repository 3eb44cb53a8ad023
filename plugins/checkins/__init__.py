"""checkins — Fync's example plugin (SPEC §7): check in to a community event.

    POST /api/checkins {"event_id": 12}    scope checkins:write   → 201, or 409 if already
    GET  /api/events/12/checkins           scope checkins:read    → {"items", "next_cursor"}

It uses only `gancio_like.plugins`, as any plugin author would: a scope, two routes,
a migration, and a listener. See README.md beside this file.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from gancio_like.plugins import ApiHandler, Conflict, hookimpl, requires_scope

log = logging.getLogger("fync.checkins")
MAX_LIMIT = 100


@hookimpl
def fync_scopes():
    return {"checkins:read": "See who checked in to events",
            "checkins:write": "Check you in to events"}


@hookimpl
def fync_routes():
    return [(r"/api/checkins", CheckinsHandler),
            (r"/api/events/([0-9]{1,18})/checkins", EventCheckinsHandler)]


@hookimpl
def fync_migrations():
    return Path(__file__).parent / "migrations"


@hookimpl
def fync_api_index(user):
    return {"checkins": "/api/checkins"}


@hookimpl
def fync_event_created(event):
    log.info("event %d %r is open for check-ins", event.event_id, event.title)


def _error(handler: ApiHandler, status: int, error: str, description: str) -> None:
    handler.write_json({"error": error, "error_description": description}, status)


async def _visible_event(handler: ApiHandler, event_id: int) -> bool:
    """Published events, and the caller's own drafts."""
    owner = handler.current_user.id if handler.current_user else -1
    return await handler.db.fetchval(
        "SELECT 1 FROM events WHERE id = ? AND (published = 1 OR owner_id = ?)", (event_id, owner)) is not None


CHECKIN = {"type": "object", "required": ["id", "event_id", "username", "created_at"],
           "properties": {"id": {"type": "integer"}, "event_id": {"type": "integer"},
                          "username": {"type": "string"}, "created_at": {"type": "integer"}}}


class CheckinsHandler(ApiHandler):
    # What /api/openapi.json says; json_body() refuses a body that does not fit "request".
    openapi = {"POST": {"request": {"type": "object", "required": ["event_id"], "properties": {
                            "event_id": {"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1}}},
                        "response": CHECKIN, "status": 201,
                        "errors": {"404": "No such event", "409": "You already checked in to this event"}}}

    @requires_scope("checkins:write")
    async def post(self) -> None:
        """Check in to an event."""
        event_id = self.json_body()["event_id"]
        if not await _visible_event(self, event_id):
            return _error(self, 404, "not_found", "no such event")
        now = int(time.time())
        try:
            async with self.db.transaction() as tx:
                checkin_id = await tx.insert(
                    "INSERT INTO checkins (event_id, user_id, created_at) VALUES (?, ?, ?)",
                    (event_id, self.current_user.id, now))
        except Conflict:
            return _error(self, 409, "conflict", "you already checked in to this event")
        self.write_json({"id": checkin_id, "event_id": event_id,
                         "username": self.current_user.username, "created_at": now}, 201)


class EventCheckinsHandler(ApiHandler):
    openapi = {"GET": {
        "response": {"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": {"type": "object", "required": ["id", "username", "created_at"],
                                                 "properties": {k: CHECKIN["properties"][k]
                                                                for k in ("id", "username", "created_at")}}},
            "next_cursor": {"type": ["string", "null"]}}},
        "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
            {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
             "description": "the next_cursor of the previous page"}]}}

    @requires_scope("checkins:read")
    async def get(self, event_id: str) -> None:
        """Who checked in to an event."""
        if not await _visible_event(self, int(event_id)):
            return _error(self, 404, "not_found", "no such event")
        limit, after = self._page()
        if limit is None:
            return _error(self, 400, "invalid_request", f"limit must be 1 to {MAX_LIMIT}; cursor an id")
        rows = await self.db.fetchall(
            "SELECT c.id, c.created_at, u.username FROM checkins c JOIN users u ON u.id = c.user_id "
            "WHERE c.event_id = ? AND c.id > ? ORDER BY c.id LIMIT ?", (int(event_id), after, limit + 1))
        items = [dict(r) for r in rows[:limit]]
        more = len(rows) > limit
        self.write_json({"items": items, "next_cursor": str(items[-1]["id"]) if more else None})

    def _page(self) -> tuple[int | None, int]:
        limit, cursor = self.get_argument("limit", "20"), self.get_argument("cursor", "0")
        if not (_digits(limit) and 1 <= int(limit) <= MAX_LIMIT and _digits(cursor) and len(cursor) <= 18):
            return None, 0
        return int(limit), int(cursor)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # isdigit() alone also takes "²", which int() refuses
