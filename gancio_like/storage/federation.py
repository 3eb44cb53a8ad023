"""Federation state (migrations/0005_federation.sql, 0007_delivery_claims.sql,
0013_event_federation.sql; SPEC §6): users' and the instance's key pairs, the
remote-actor cache, the delivery queue, the events actor's followers and the inbox's
memory of activity ids."""
from __future__ import annotations

from dataclasses import dataclass, field

from .db import Database, Transaction
from .store import Row

Reader = Database | Transaction


@dataclass(frozen=True)
class KeyPair:
    user_id: int | None        # None: one of the instance's own actors
    public_pem: str
    private_pem: str = field(repr=False)  # never in a log line, not even by accident


@dataclass(frozen=True)
class RemoteActor:
    """An actor on another instance, as fetched and checked (federation/actors.py)."""
    uri: str
    acct: str
    inbox: str
    key_id: str
    public_pem: str
    fetched_at: int
    icon: str = ""  # the picture its document named (kept in remote_avatars, not here)


@dataclass(frozen=True)
class Delivery:
    id: int
    user_id: int | None        # who signs it; None: the instance's events actor
    recipient: str
    inbox: str | None
    activity: str
    attempts: int
    created_at: int
    first_tried_at: int | None


# -- key pairs --------------------------------------------------------------------------------

async def get_key_pair(db: Reader, user_id: int) -> KeyPair | None:
    row = await db.fetchone("SELECT user_id, public_pem, private_pem FROM actor_keys WHERE user_id = ?",
                            (user_id,))
    return None if row is None else KeyPair(row["user_id"], row["public_pem"], row["private_pem"])


async def insert_key_pair(tx: Transaction, user_id: int, public_pem: str, private_pem: str, now: int) -> None:
    """The first pair made wins; a racing second one is dropped."""
    await tx.execute("INSERT OR IGNORE INTO actor_keys (user_id, public_pem, private_pem, created_at) "
                     "VALUES (?, ?, ?, ?)", (user_id, public_pem, private_pem, now))


async def get_instance_key_pair(db: Reader, name: str) -> KeyPair | None:
    row = await db.fetchone("SELECT public_pem, private_pem FROM instance_keys WHERE name = ?", (name,))
    return None if row is None else KeyPair(None, row["public_pem"], row["private_pem"])


async def insert_instance_key_pair(tx: Transaction, name: str, public_pem: str, private_pem: str, now: int) -> None:
    """The first pair made wins; a racing second one is dropped."""
    await tx.execute("INSERT INTO instance_keys (name, public_pem, private_pem, created_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (name) DO NOTHING", (name, public_pem, private_pem, now))


# -- remote actors ----------------------------------------------------------------------------

_ACTOR = "SELECT uri, acct, inbox, key_id, public_pem, fetched_at FROM remote_actors"


def _actor(row: Row | None) -> RemoteActor | None:
    return None if row is None else RemoteActor(row["uri"], row["acct"], row["inbox"], row["key_id"],
                                                row["public_pem"], row["fetched_at"])


async def get_remote_actor_by_key(db: Reader, key_id: str) -> RemoteActor | None:
    return _actor(await db.fetchone(f"{_ACTOR} WHERE key_id = ?", (key_id,)))


async def get_remote_actor_by_acct(db: Reader, acct: str) -> RemoteActor | None:
    return _actor(await db.fetchone(f"{_ACTOR} WHERE acct = ?", (acct,)))


async def get_remote_actor(db: Reader, uri: str) -> RemoteActor | None:
    return _actor(await db.fetchone(f"{_ACTOR} WHERE uri = ?", (uri,)))


async def upsert_remote_actor(tx: Transaction, actor: RemoteActor) -> None:
    """Remember `actor`; an older actor that held the same acct gives it up (a re-created account)."""
    await tx.execute("DELETE FROM remote_actors WHERE acct = ? AND uri <> ?", (actor.acct, actor.uri))
    await tx.execute(
        "INSERT INTO remote_actors (uri, acct, inbox, key_id, public_pem, fetched_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (uri) DO UPDATE SET acct = excluded.acct, inbox = excluded.inbox, "
        "key_id = excluded.key_id, public_pem = excluded.public_pem, fetched_at = excluded.fetched_at",
        (actor.uri, actor.acct, actor.inbox, actor.key_id, actor.public_pem, actor.fetched_at))


# -- the delivery queue -----------------------------------------------------------------------

async def insert_delivery(tx: Transaction, user_id: int | None, recipient: str, inbox: str | None,
                          activity: str, now: int) -> int:
    return await tx.insert(
        "INSERT INTO deliveries (user_id, recipient, inbox, activity, created_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", (user_id, recipient, inbox, activity, now, now))


_DUE = ("SELECT id, user_id, recipient, inbox, activity, attempts, created_at, first_tried_at FROM deliveries AS d "
        "WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ? "
        "AND (claimed_until IS NULL OR claimed_until <= ?) "
        "AND NOT EXISTS (SELECT 1 FROM deliveries AS o WHERE o.recipient = d.recipient AND o.id < d.id "
        "AND o.delivered_at IS NULL AND o.gave_up_at IS NULL) "
        "ORDER BY next_attempt_at, id LIMIT ?")


async def claim_due_deliveries(tx: Transaction, dialect: str, now: int, limit: int,
                               lease_until: int) -> list[Delivery]:
    """Take due deliveries for one worker until `lease_until`: other workers (other
    processes) skip them until the lease ends or the try is recorded.

    Each is the oldest still pending for its recipient, so one recipient's activities
    go out in the order they were queued (an Undo never overtakes its Follow): a
    claimed older row is still pending, and holds its successors back. On PostgreSQL
    `FOR UPDATE SKIP LOCKED` passes over rows another transaction is claiming; SQLite
    has one writer and no such clause."""
    sql = _DUE + (" FOR UPDATE OF d SKIP LOCKED" if dialect == "postgresql" else "")
    rows = await tx.fetchall(sql, (now, now, limit))
    if rows:
        ids = [r["id"] for r in rows]
        await tx.execute(f"UPDATE deliveries SET claimed_until = ? WHERE id IN ({_marks(ids)})", (lease_until, *ids))
    return [Delivery(r["id"], r["user_id"], r["recipient"], r["inbox"], r["activity"], r["attempts"],
                     r["created_at"], r["first_tried_at"]) for r in rows]


async def release_deliveries(tx: Transaction, delivery_ids: list[int]) -> None:
    """A worker stopping mid-try gives its claims back: due again now, not at lease end."""
    await tx.execute(f"UPDATE deliveries SET claimed_until = NULL WHERE id IN ({_marks(delivery_ids)})",
                     tuple(delivery_ids))


def _marks(values: list) -> str:
    """'?, ?, ?' for an IN list of as many values."""
    return ", ".join("?" * len(values))


async def update_delivery_addressed(tx: Transaction, delivery_id: int, inbox: str, activity: str) -> None:
    """The recipient resolved: where it goes, and the activity with their actor filled in."""
    await tx.execute("UPDATE deliveries SET inbox = ?, activity = ? WHERE id = ?", (inbox, activity, delivery_id))


async def update_delivery_done(tx: Transaction, delivery_id: int, now: int) -> None:
    await tx.execute("UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL, "
                     "claimed_until = NULL, first_tried_at = coalesce(first_tried_at, ?) WHERE id = ?",
                     (now, now, delivery_id))


async def update_delivery_failed(tx: Transaction, delivery_id: int, now: int, error: str,
                                 next_attempt_at: int | None) -> None:
    """One more failed try: retry at `next_attempt_at`, or give up when it is None."""
    await tx.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, first_tried_at = coalesce(first_tried_at, ?), "
        "claimed_until = NULL, "
        "next_attempt_at = coalesce(?, next_attempt_at), gave_up_at = CASE WHEN CAST(? AS BIGINT) IS NULL THEN CAST(? AS BIGINT) END WHERE id = ?",
        (error[:500], now, next_attempt_at, next_attempt_at, now, delivery_id))


async def delete_old_deliveries(tx: Transaction, before: int) -> int:
    """Forget deliveries that ended (delivered or given up) before `before`."""
    return await tx.execute("DELETE FROM deliveries WHERE coalesce(delivered_at, gave_up_at) < ?", (before,))


# -- the events actor's followers --------------------------------------------------------------

async def insert_event_follower(tx: Transaction, actor_uri: str, follow_id: str, now: int) -> None:
    """Remember a follower (a repeated Follow keeps the first date, and the newest Follow's id)."""
    await tx.execute("INSERT INTO event_followers (actor_uri, follow_id, created_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (actor_uri) DO UPDATE SET follow_id = excluded.follow_id",
                     (actor_uri, follow_id, now))


async def delete_event_follower(tx: Transaction, actor_uri: str) -> int:
    return await tx.execute("DELETE FROM event_followers WHERE actor_uri = ?", (actor_uri,))


async def list_event_followers(db: Reader) -> list[RemoteActor]:
    rows = await db.fetchall(f"{_ACTOR} WHERE uri IN (SELECT actor_uri FROM event_followers) ORDER BY uri")
    return [_actor(r) for r in rows]


async def count_event_followers(db: Reader) -> int:
    return await db.fetchval("SELECT count(*) FROM event_followers")


# -- the inbox's memory -----------------------------------------------------------------------

async def insert_seen(tx: Transaction, activity_id: str, actor: str, now: int) -> bool:
    """Remember an applied activity id; False when it was already seen (then apply nothing)."""
    return bool(await tx.execute("INSERT OR IGNORE INTO inbox_seen (activity_id, actor, received_at) "
                                 "VALUES (?, ?, ?)", (activity_id, actor, now)))


async def delete_old_seen(tx: Transaction, before: int) -> int:
    return await tx.execute("DELETE FROM inbox_seen WHERE received_at < ?", (before,))
