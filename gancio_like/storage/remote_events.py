"""Remote friends' events (migrations/0013_event_federation.sql), stored as received."""
from __future__ import annotations

from ..models import RemoteEvent
from .db import Database, Transaction
from .store import Row

Reader = Database | Transaction
_COLUMNS = ("uri", "actor_uri", "acct", "url", "title", "description", "start_datetime", "end_datetime",
            "place_name", "place_address", "timezone", "tags")
_SELECT = f"SELECT id, {', '.join(_COLUMNS)}, received_at, updated_at FROM remote_events"


def _event(row: Row | None) -> RemoteEvent | None:
    if row is None:
        return None
    values = {name: row[name] for name in _COLUMNS}
    values["tags"] = tuple(values["tags"].split("\x1f")) if values["tags"] else ()
    return RemoteEvent(row["id"], **values, received_at=row["received_at"], updated_at=row["updated_at"])


async def get_remote_event(db: Reader, event_id: int) -> RemoteEvent | None:
    return _event(await db.fetchone(f"{_SELECT} WHERE id = ?", (event_id,)))


async def get_remote_event_by_uri(db: Reader, uri: str) -> RemoteEvent | None:
    return _event(await db.fetchone(f"{_SELECT} WHERE uri = ?", (uri,)))


async def list_remote_events(db: Reader, now: int, unended_for: int, limit: int) -> list[RemoteEvent]:
    """Remote events not over by `now`, in start order (as storage/events.list_unended)."""
    rows = await db.fetchall(f"{_SELECT} WHERE end_datetime > ? OR (end_datetime IS NULL AND start_datetime > ?) "
                             "ORDER BY start_datetime, id LIMIT ?", (now, now - unended_for, limit))
    return [_event(r) for r in rows]


async def upsert_remote_event(tx: Transaction, values: dict, now: int) -> int:
    """Store an event by its uri (a new one, or the new version of one); its row id."""
    row = [values[c] if c != "tags" else "\x1f".join(values["tags"]) for c in _COLUMNS]
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "uri")
    await tx.execute(f"INSERT INTO remote_events ({', '.join(_COLUMNS)}, received_at, updated_at) "
                     f"VALUES ({', '.join('?' * len(_COLUMNS))}, ?, ?) "
                     f"ON CONFLICT (uri) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
                     (*row, now, now))
    return await tx.fetchval("SELECT id FROM remote_events WHERE uri = ?", (values["uri"],))


async def delete_remote_event(tx: Transaction, uri: str) -> int:
    return await tx.execute("DELETE FROM remote_events WHERE uri = ?", (uri,))
