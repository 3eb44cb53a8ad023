"""Rate-limit hits in the database (migrations/0006_rate_limits.sql), so every
process of one instance counts against the same limit (services/throttle.py).

A key is stored as JSON text: a tuple of strings maps to one unambiguous string.
"""
from __future__ import annotations

import json

from .db import Database, Transaction

Reader = Database | Transaction


def key_text(key: tuple) -> str:
    """("login-ip", "203.0.113.5") → '["login-ip","203.0.113.5"]'."""
    return json.dumps(list(key), separators=(",", ":"))


async def nth_latest_hit(db: Reader, throttle: str, key: tuple, since: int, n: int) -> int | None:
    """When the key's hits after `since` number at least `n`, the time of the n-th
    latest of them (the one whose ageing out frees a place); otherwise None."""
    return await db.fetchval(
        "SELECT hit_at FROM rate_limit_hits WHERE throttle = ? AND key = ? AND hit_at > ? "
        "ORDER BY hit_at DESC, id DESC LIMIT 1 OFFSET ?", (throttle, key_text(key), since, n - 1))


async def insert_hits(tx: Transaction, throttle: str, keys: tuple[tuple, ...], now: int) -> None:
    for key in keys:
        await tx.execute("INSERT INTO rate_limit_hits (throttle, key, hit_at) VALUES (?, ?, ?)",
                         (throttle, key_text(key), now))


async def delete_latest_hit(tx: Transaction, throttle: str, key: tuple) -> None:
    """Give back the key's most recent hit (an attempt that turned out fine)."""
    await tx.execute("DELETE FROM rate_limit_hits WHERE id = (SELECT max(id) FROM rate_limit_hits "
                     "WHERE throttle = ? AND key = ?)", (throttle, key_text(key)))


async def delete_key(tx: Transaction, throttle: str, key: tuple) -> None:
    await tx.execute("DELETE FROM rate_limit_hits WHERE throttle = ? AND key = ?", (throttle, key_text(key)))


async def delete_old_hits(tx: Transaction, throttle: str, before: int) -> int:
    """Rows at or before `before` can no longer count: out of every window."""
    return await tx.execute("DELETE FROM rate_limit_hits WHERE throttle = ? AND hit_at <= ?", (throttle, before))


async def count_hits(db: Reader, throttle: str) -> int:
    """Rows kept for one throttle (tests: the sweep keeps the table small)."""
    return await db.fetchval("SELECT count(*) FROM rate_limit_hits WHERE throttle = ?", (throttle,))
