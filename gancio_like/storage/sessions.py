"""Server-side web sessions behind the `fync_session` cookie.

The cookie holds a random token; only its SHA-256 is stored, so logout and a
password change end a session for real (a signed cookie alone could not be revoked).
"""
from __future__ import annotations

from .db import Database, Transaction


async def insert_session(tx: Transaction, token_hash: bytes, user_id: int, now: int,
                         expires_at: int) -> None:
    await tx.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
                     "VALUES (?, ?, ?, ?)", (token_hash, user_id, now, expires_at))


async def get_session_user_id(db: Database, token_hash: bytes, now: int) -> int | None:
    return await db.fetchval("SELECT user_id FROM sessions WHERE token_hash = ? AND expires_at > ?",
                             (token_hash, now))


async def delete_session(tx: Transaction, token_hash: bytes) -> None:
    await tx.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


async def delete_user_sessions(tx: Transaction, user_id: int) -> None:
    await tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))


async def delete_expired_sessions(tx: Transaction, now: int) -> int:
    return await tx.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
