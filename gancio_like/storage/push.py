"""Web Push subscriptions and the queue of pushes (migrations/0011_push.sql; SPEC §4).

Rows of the queue are made by the database itself, in the transaction that inserts a
notification, and subscriptions end with their grant by trigger too: see the migration.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..models import PushSubscription
from .db import Database, Transaction
from .store import Row

Reader = Database | Transaction

_SUBSCRIPTION = ("SELECT s.id, s.grant_id, s.user_id, s.endpoint, s.p256dh, s.auth, s.created_at, "
                 "s.last_delivered_at, c.name AS app_name FROM push_subscriptions AS s "
                 "JOIN grants AS g ON g.id = s.grant_id JOIN clients AS c ON c.id = g.client_pk")


@dataclass(frozen=True)
class PushJob:
    """A claimed push: what to send where, and how it went so far."""
    id: int
    notification_id: int
    subscription: PushSubscription
    attempts: int
    created_at: int
    first_tried_at: int | None
    live: bool  # the grant can still act (unrevoked, its app active, a token unexpired)


def _subscription(row: Row) -> PushSubscription:
    return PushSubscription(row["id"], row["grant_id"], row["user_id"], row["endpoint"], row["p256dh"],
                            row["auth"], row["created_at"], row["last_delivered_at"], row["app_name"])


# -- subscriptions -------------------------------------------------------------------------------

async def upsert_subscription(tx: Transaction, grant_id: int, user_id: int, endpoint: str, p256dh: str,
                              auth: str, now: int) -> int:
    """The id; a browser subscribing again to the same endpoint gets its keys updated."""
    found = await tx.fetchval("SELECT id FROM push_subscriptions WHERE grant_id = ? AND endpoint = ?",
                              (grant_id, endpoint))
    if found is not None:
        await tx.execute("UPDATE push_subscriptions SET p256dh = ?, auth = ? WHERE id = ?", (p256dh, auth, found))
        return found
    return await tx.insert("INSERT INTO push_subscriptions (grant_id, user_id, endpoint, p256dh, auth, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (grant_id, user_id, endpoint, p256dh, auth, now))


async def get_subscription(db: Reader, subscription_id: int) -> PushSubscription | None:
    row = await db.fetchone(f"{_SUBSCRIPTION} WHERE s.id = ?", (subscription_id,))
    return None if row is None else _subscription(row)


async def list_grant_subscriptions(db: Reader, grant_id: int) -> list[PushSubscription]:
    rows = await db.fetchall(f"{_SUBSCRIPTION} WHERE s.grant_id = ? ORDER BY s.id", (grant_id,))
    return [_subscription(r) for r in rows]


async def list_user_subscriptions(db: Reader, user_id: int) -> list[PushSubscription]:
    rows = await db.fetchall(f"{_SUBSCRIPTION} WHERE s.user_id = ? ORDER BY s.id", (user_id,))
    return [_subscription(r) for r in rows]


async def delete_subscription(tx: Transaction, subscription_id: int, *, grant_id: int | None = None,
                              user_id: int | None = None) -> int:
    """Delete one (and its queued pushes), only if it belongs to that grant or user when named."""
    return await tx.execute(
        "DELETE FROM push_subscriptions WHERE id = ? AND grant_id = coalesce(?, grant_id) "
        "AND user_id = coalesce(?, user_id)", (subscription_id, grant_id, user_id))


async def delete_dead_subscriptions(tx: Transaction, now: int) -> int:
    """Subscriptions of grants left with no usable token (all expired): the grant can no
    longer act, so neither can its devices. (A revoked grant's went at once, by trigger.)"""
    return await tx.execute(
        "DELETE FROM push_subscriptions WHERE NOT EXISTS (SELECT 1 FROM tokens AS t "
        "WHERE t.grant_id = push_subscriptions.grant_id AND t.revoked_at IS NULL AND t.spent_at IS NULL "
        "AND (t.expires_at IS NULL OR t.expires_at > ?))", (now,))


# -- the queue -----------------------------------------------------------------------------------

_DUE_WHERE = "d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until <= ?)"
_CLAIM = (
    "SELECT d.id, d.notification_id, d.attempts, d.created_at, d.first_tried_at, s.id AS s_id, s.grant_id, "
    "s.user_id, s.endpoint, s.p256dh, s.auth, s.created_at AS s_created_at, s.last_delivered_at, "
    "CASE WHEN g.revoked_at IS NULL AND c.status = 'active' AND EXISTS (SELECT 1 FROM tokens AS t "
    "WHERE t.grant_id = g.id AND t.revoked_at IS NULL AND t.spent_at IS NULL "
    "AND (t.expires_at IS NULL OR t.expires_at > ?)) THEN 1 ELSE 0 END AS live "
    "FROM push_deliveries AS d JOIN push_subscriptions AS s ON s.id = d.subscription_id "
    "JOIN grants AS g ON g.id = s.grant_id JOIN clients AS c ON c.id = g.client_pk "
    f"WHERE {_DUE_WHERE} ORDER BY d.next_attempt_at, d.id LIMIT ?")


async def any_due(db: Reader, now: int) -> bool:
    """Whether a push waits to be tried: the idle worker's cheap look, a read."""
    return await db.fetchval(f"SELECT 1 FROM push_deliveries AS d WHERE {_DUE_WHERE} LIMIT 1", (now, now)) == 1


async def claim_due(tx: Transaction, dialect: str, now: int, limit: int, lease_until: int) -> list[PushJob]:
    """Take due pushes for one worker until `lease_until` (other processes skip them; on
    PostgreSQL `FOR UPDATE SKIP LOCKED` passes over rows another one is claiming)."""
    sql = _CLAIM + (" FOR UPDATE OF d SKIP LOCKED" if dialect == "postgresql" else "")
    rows = await tx.fetchall(sql, (now, now, now, limit))
    if rows:
        ids = [r["id"] for r in rows]
        await tx.execute(f"UPDATE push_deliveries SET claimed_until = ? WHERE id IN ({_marks(ids)})",
                         (lease_until, *ids))
    return [_job(r) for r in rows]


def _job(row: Row) -> PushJob:
    subscription = PushSubscription(row["s_id"], row["grant_id"], row["user_id"], row["endpoint"], row["p256dh"],
                                    row["auth"], row["s_created_at"], row["last_delivered_at"])
    return PushJob(row["id"], row["notification_id"], subscription, row["attempts"], row["created_at"],
                   row["first_tried_at"], bool(row["live"]))


def _marks(values: list) -> str:
    return ", ".join("?" * len(values))


async def release(tx: Transaction, delivery_ids: list[int]) -> None:
    """A worker stopping mid-try gives its claims back: due again now, not at lease end."""
    await tx.execute(f"UPDATE push_deliveries SET claimed_until = NULL WHERE id IN ({_marks(delivery_ids)})",
                     tuple(delivery_ids))


async def delete_delivered(tx: Transaction, delivery_id: int, subscription_id: int, now: int) -> None:
    """The push service took it: the row goes, the device's "last delivery" moves."""
    await tx.execute("DELETE FROM push_deliveries WHERE id = ?", (delivery_id,))
    await tx.execute("UPDATE push_subscriptions SET last_delivered_at = ? WHERE id = ?", (now, subscription_id))


async def delete_delivery(tx: Transaction, delivery_id: int) -> None:
    """Given up (or refused for good): nothing is kept."""
    await tx.execute("DELETE FROM push_deliveries WHERE id = ?", (delivery_id,))


async def update_failed(tx: Transaction, delivery_id: int, now: int, error: str, retry_at: int) -> None:
    await tx.execute("UPDATE push_deliveries SET attempts = attempts + 1, last_error = ?, claimed_until = NULL, "
                     "first_tried_at = coalesce(first_tried_at, ?), next_attempt_at = ? WHERE id = ?",
                     (error[:500], now, retry_at, delivery_id))


async def count_queued(db: Reader) -> int:
    return await db.fetchval("SELECT count(*) FROM push_deliveries")
