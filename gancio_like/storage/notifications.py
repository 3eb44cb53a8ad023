"""Notifications (migrations/0010_people.sql; SPEC §4 `/api/notifications`).

The actor is a local user (actor_user_id, with actor_acct left empty: a local acct is
built from the username and the instance's domain, never stored, as in friends.py) or
a remote acct. Inserting a row also queues its pushes (trigger in 0011_push.sql).
"""
from __future__ import annotations


from ..models import Actor, Notification
from .db import Database, Transaction
from .store import Row

Reader = Database | Transaction

_SELECT = ("SELECT n.id, n.user_id, n.type, n.actor_acct, n.object_id, n.url, n.created_at, n.read_at, "
           "u.username AS actor_name, u.display_name AS actor_display_name, "
           "u.avatar_version AS actor_avatar_version "
           "FROM notifications AS n LEFT JOIN users AS u ON u.id = n.actor_user_id")


def _notification(row: Row, domain: str) -> Notification:
    if row["actor_name"] is not None:
        actor = Actor(f"{row['actor_name']}@{domain}", row["actor_display_name"], row["actor_name"],
                      row["actor_avatar_version"])
    else:  # remote, or a local account deleted since (then the acct is empty)
        actor = Actor(row["actor_acct"], "", None)
    return Notification(row["id"], row["user_id"], row["type"], actor, row["object_id"], row["url"],
                        row["created_at"], row["read_at"] is not None)


async def insert_notification(tx: Transaction, user_id: int, type_: str, actor_user_id: int | None,
                              actor_acct: str, object_id: int | None, url: str, now: int) -> int:
    return await tx.insert(
        "INSERT INTO notifications (user_id, type, actor_acct, actor_user_id, object_id, url, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (user_id, type_, actor_acct, actor_user_id, object_id, url, now))


async def insert_friend_event(tx: Transaction, owner_id: int, event_id: int, url: str, now: int) -> int:
    """`friend_event` for each local friend of `owner_id`, in one statement; those told of
    this event before (it was unpublished and published again) are not told twice.
    Returns how many were told."""
    return await tx.execute(
        "INSERT INTO notifications (user_id, type, actor_acct, actor_user_id, object_id, url, created_at) "
        "SELECT f.friend_id, 'friend_event', '', f.user_id, ?, ?, ? FROM friendships AS f "
        "WHERE f.user_id = ? AND f.friend_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM notifications AS o "
        "WHERE o.user_id = f.friend_id AND o.type = 'friend_event' AND o.object_id = ? "
        "AND o.actor_user_id = f.user_id)",
        (event_id, url, now, owner_id, event_id))


async def get_notification(db: Reader, domain: str, notification_id: int) -> Notification | None:
    row = await db.fetchone(f"{_SELECT} WHERE n.id = ?", (notification_id,))
    return None if row is None else _notification(row, domain)


async def list_notifications(db: Reader, domain: str, user_id: int, limit: int,
                             before_id: int | None) -> list[Notification]:
    """Newest first, those older than `before_id` (all when None)."""
    rows = await db.fetchall(f"{_SELECT} WHERE n.user_id = ? AND n.id < ? ORDER BY n.id DESC LIMIT ?",
                             (user_id, 2**63 - 1 if before_id is None else before_id, limit))
    return [_notification(r, domain) for r in rows]


async def count_unread(db: Reader, user_id: int, most: int) -> int:
    """Unread notifications, counted up to `most` (a badge says "99+" past that): at most
    `most` entries of the partial index are read, however many there are."""
    return await db.fetchval("SELECT count(*) FROM (SELECT 1 FROM notifications WHERE user_id = ? "
                             "AND read_at IS NULL LIMIT ?) AS unread", (user_id, most))


async def update_read(tx: Transaction, user_id: int, up_to: int, now: int) -> int:
    """Mark this user's unread notifications up to id `up_to` read; how many were."""
    return await tx.execute("UPDATE notifications SET read_at = ? WHERE user_id = ? AND id <= ? "
                            "AND read_at IS NULL", (now, user_id, up_to))


async def get_event_summaries(db: Reader, event_ids: list[int]) -> dict[int, tuple[str, int, str]]:
    """{event id: (title, start, timezone)} of the local events `friend_event` rows name."""
    if not event_ids:
        return {}
    marks = ", ".join("?" * len(event_ids))
    rows = await db.fetchall(f"SELECT id, title, start_datetime, timezone FROM events WHERE id IN ({marks})",
                             tuple(event_ids))
    return {r["id"]: (r["title"], r["start_datetime"], r["timezone"]) for r in rows}


async def get_remote_event_summaries(db: Reader, event_ids: list[int]) -> dict[int, tuple[str, int, str]]:
    """The same for remote friends' events (migrations/0013), which their `friend_event` rows name."""
    if not event_ids:
        return {}
    marks = ", ".join("?" * len(event_ids))
    rows = await db.fetchall(f"SELECT id, title, start_datetime, timezone FROM remote_events WHERE id IN ({marks})",
                             tuple(event_ids))
    return {r["id"]: (r["title"], r["start_datetime"], r["timezone"]) for r in rows}
