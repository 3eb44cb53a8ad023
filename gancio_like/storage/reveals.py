"""Rows of credentials the developer portal shows once (services/apps.py Reveals).

This module only moves opaque sealed bytes: encryption lives in the service, so
nothing here ever sees a secret in clear."""
from __future__ import annotations

from .db import Database, Transaction


async def put(tx: Transaction, session_hash: bytes, client_id: str, sealed: bytes, expires_at: int,
              now: int) -> None:
    """Store (or replace) one reveal; sweeps expired rows on the way, so the table
    stays small even where housekeeping runs rarely."""
    await delete_expired(tx, now)
    await tx.execute("DELETE FROM reveals WHERE session_hash = ? AND client_id = ?", (session_hash, client_id))
    await tx.execute("INSERT INTO reveals (session_hash, client_id, sealed, expires_at) VALUES (?, ?, ?, ?)",
                     (session_hash, client_id, sealed, expires_at))


async def pending(db: Database, session_hash: bytes, client_id: str) -> bool:
    """A plain read first: most page views have nothing to show and need no write."""
    return await db.fetchval("SELECT 1 FROM reveals WHERE session_hash = ? AND client_id = ?",
                             (session_hash, client_id)) is not None


async def take(tx: Transaction, session_hash: bytes, client_id: str, now: int) -> bytes | None:
    """The sealed bytes, if a live row exists; the row is gone afterwards either way.
    Call inside a write transaction: both engines serialise those, so of two racing
    requests only one finds the row."""
    row = await tx.fetchone("SELECT sealed, expires_at FROM reveals WHERE session_hash = ? AND client_id = ?",
                            (session_hash, client_id))
    if row is None:
        return None
    await tx.execute("DELETE FROM reveals WHERE session_hash = ? AND client_id = ?", (session_hash, client_id))
    return bytes(row["sealed"]) if row["expires_at"] > now else None


async def delete_expired(tx: Transaction, now: int) -> int:
    return await tx.execute("DELETE FROM reveals WHERE expires_at <= ?", (now,))
