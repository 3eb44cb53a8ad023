"""Remembered answers to requests sent with an `Idempotency-Key` (migration 0014).

A key is claimed (a row with no status) before the request runs, and its answer is
stored after; both in write transactions, which both engines serialise, so of two
requests racing with one key exactly one claims it."""
from __future__ import annotations

from dataclasses import dataclass

from .db import Transaction

TTL = 86400        # seconds an answer is kept (24 h)
ABANDONED = 60     # seconds after which a claim never answered (the process died) is taken over
_WHERE = "user_id = ? AND client_pk = ? AND idem_key = ?"


@dataclass(frozen=True)
class KeyUse:
    """A key already claimed: the request it was claimed for and, once known, its answer."""
    request_hash: bytes
    status: int | None
    body: str | None


async def claim(tx: Transaction, owner: tuple[int, int], key: str, request_hash: bytes, now: int) -> KeyUse | None:
    """None when the key is now ours to answer (then `finish` or `release` it); else its earlier use.
    `owner` is (user id, client pk)."""
    await tx.execute(f"DELETE FROM idempotency_keys WHERE {_WHERE} AND "
                     "(expires_at <= ? OR (status IS NULL AND created_at <= ?))",
                     (*owner, key, now, now - ABANDONED))
    row = await tx.fetchone(f"SELECT request_hash, status, body FROM idempotency_keys WHERE {_WHERE}",
                            (*owner, key))
    if row is not None:
        return KeyUse(bytes(row["request_hash"]), row["status"], row["body"])
    await tx.execute("INSERT INTO idempotency_keys (user_id, client_pk, idem_key, request_hash, created_at, "
                     "expires_at) VALUES (?, ?, ?, ?, ?, ?)", (*owner, key, request_hash, now, now + TTL))
    return None


async def finish(tx: Transaction, owner: tuple[int, int], key: str, status: int, body: str) -> None:
    await tx.execute(f"UPDATE idempotency_keys SET status = ?, body = ? WHERE {_WHERE}",
                     (status, body, *owner, key))


async def release(tx: Transaction, owner: tuple[int, int], key: str) -> None:
    """Forget a claim whose request failed in a way worth trying again (a 5xx, a 429)."""
    await tx.execute(f"DELETE FROM idempotency_keys WHERE {_WHERE} AND status IS NULL", (*owner, key))


async def delete_expired(tx: Transaction, now: int) -> int:
    return await tx.execute("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,))
