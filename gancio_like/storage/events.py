"""Community events and their tags (migrations/0004_events.sql)."""
from __future__ import annotations

from ..models import Event
from .db import Database, Transaction
from .store import Row

# Owner name and tags ride along in one query: every list shows both.
_SELECT = ("SELECT e.*, u.username AS owner, u.timezone AS owner_timezone, u.avatar_version AS owner_avatar_version, "
           "(SELECT group_concat(tag, char(31)) FROM event_tags WHERE event_id = e.id) AS tag_list "
           "FROM events e JOIN users u ON u.id = e.owner_id")
_COLUMNS = ("title", "description", "start_datetime", "end_datetime", "place_name",
            "place_address", "published", "timezone")


def _event(row: Row | None) -> Event | None:
    if row is None:
        return None
    tags = tuple(sorted(row["tag_list"].split("\x1f"))) if row["tag_list"] else ()
    return Event(row["id"], row["owner_id"], row["owner"], row["title"], row["description"],
                 row["start_datetime"], row["end_datetime"], row["place_name"], row["place_address"],
                 tags, bool(row["published"]), row["created_at"], row["updated_at"], row["timezone"],
                 row["owner_timezone"], row["owner_avatar_version"])


async def get_event(db: Database | Transaction, event_id: int) -> Event | None:
    return _event(await db.fetchone(f"{_SELECT} WHERE e.id = ?", (event_id,)))


async def list_events(db: Database, position: tuple[int, int], limit: int, past: bool = False,
                      viewer_id: int | None = None, tag: str | None = None,
                      owner_id: int | None = None) -> list[Event]:
    """Published events (and `viewer_id`'s drafts) after `position` = (start, id):
    later ones in start order, or with `past` earlier ones newest first."""
    where, params = _filters(viewer_id, tag, owner_id)
    where.append("(e.start_datetime, e.id) < (?, ?)" if past else "(e.start_datetime, e.id) > (?, ?)")
    order = "DESC" if past else "ASC"
    rows = await db.fetchall(f"{_SELECT} WHERE {' AND '.join(where)} "
                             f"ORDER BY e.start_datetime {order}, e.id {order} LIMIT ?",
                             (*params, *position, limit))
    return [_event(r) for r in rows]


async def list_unended(db: Database, now: int, unended_for: int, tag: str | None = None,
                       owner_id: int | None = None, limit: int | None = None) -> list[Event]:
    """Published events that have not ended by `now`, in start order; one without an
    announced end counts as ended `unended_for` seconds after its start."""
    where, params = _filters(None, tag, owner_id)
    where.append("(e.end_datetime > ? OR (e.end_datetime IS NULL AND e.start_datetime > ?))")
    params += [now, now - unended_for]
    rows = await db.fetchall(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY e.start_datetime, e.id"
                             + (" LIMIT ?" if limit is not None else ""),
                             (*params, *([limit] if limit is not None else [])))
    return [_event(r) for r in rows]


def _filters(viewer_id: int | None, tag: str | None, owner_id: int | None) -> tuple[list, list]:
    # `owner_id = NULL` is never true: without a viewer only published events match.
    where, params = ["(e.published = 1 OR e.owner_id = ?)"], [viewer_id]
    if tag is not None:
        where.append("e.id IN (SELECT event_id FROM event_tags WHERE tag = ?)")
        params.append(tag)
    if owner_id is not None:
        where.append("e.owner_id = ?")
        params.append(owner_id)
    return where, params


async def insert_event(tx: Transaction, owner_id: int, values: dict, now: int) -> int:
    """A new event from `values` (every column in _COLUMNS, plus `tags`)."""
    event_id = await tx.insert(
        f"INSERT INTO events (owner_id, {', '.join(_COLUMNS)}, created_at, updated_at) "
        f"VALUES (?, {', '.join('?' * len(_COLUMNS))}, ?, ?)",
        (owner_id, *(values[c] for c in _COLUMNS), now, now))
    await _insert_tags(tx, event_id, values["tags"])
    return event_id


async def update_event(tx: Transaction, event_id: int, values: dict, now: int) -> None:
    """Rewrite every column and the tags from `values` (the merged, checked event)."""
    assignments = ", ".join(f"{c} = ?" for c in _COLUMNS)
    await tx.execute(f"UPDATE events SET {assignments}, updated_at = ? WHERE id = ?",
                     (*(values[c] for c in _COLUMNS), now, event_id))
    await tx.execute("DELETE FROM event_tags WHERE event_id = ?", (event_id,))
    await _insert_tags(tx, event_id, values["tags"])


async def _insert_tags(tx: Transaction, event_id: int, tags) -> None:
    for tag in tags:
        await tx.execute("INSERT INTO event_tags (event_id, tag) VALUES (?, ?)", (event_id, tag))


async def delete_event(tx: Transaction, event_id: int) -> None:
    await tx.execute("DELETE FROM events WHERE id = ?", (event_id,))


async def list_upcoming_with_friends(db: Database, user_id: int, now: int, limit: int) -> list[Event]:
    """Events of `user_id` (drafts too) and of their local friends (published ones) that
    have not ended by `now`, soonest first: the home page's."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE (e.owner_id = ? OR (e.published = 1 AND e.owner_id IN "
        "(SELECT friend_id FROM friendships WHERE user_id = ? AND friend_id IS NOT NULL))) "
        "AND coalesce(e.end_datetime, e.start_datetime) >= ? ORDER BY e.start_datetime, e.id LIMIT ?",
        (user_id, user_id, now, limit))
    return [_event(r) for r in rows]
