"""Server-side web sessions behind the `fync_session` cookie.

The cookie holds a random token; only its SHA-256 is stored, so logout and a
password change end a session for real (a signed cookie alone could not be revoked).
"""
from __future__ import annotations

from ..models import User
from .db import Database, Transaction
from .users import USER_COLUMNS, user_with_interests


async def insert_session(tx: Transaction, token_hash: bytes, user_id: int, now: int,
                         expires_at: int) -> None:
    await tx.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
                     "VALUES (?, ?, ?, ?)", (token_hash, user_id, now, expires_at))


async def get_session_user(db: Database, token_hash: bytes, now: int) -> User | None:
    """The session's user, in one query; cached like tokens (storage/db.py): logout,
    a password change or a profile change commits through a transaction, which
    empties the cache."""
    cache = await db.fresh_cache("sessions")
    found = cache.get(token_hash)
    if found is None:
        epoch = cache.epoch
        row = await db.fetchone(f"SELECT s.expires_at, {USER_COLUMNS} FROM sessions s "
                                "JOIN users ON users.id = s.user_id WHERE s.token_hash = ?", (token_hash,))
        if row is None:
            return None
        found = (row["expires_at"], user_with_interests(row))
        cache.fill(token_hash, found, epoch)
    expires_at, user = found
    return user if expires_at > now else None


async def delete_session(tx: Transaction, token_hash: bytes) -> None:
    await tx.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


async def delete_user_sessions(tx: Transaction, user_id: int) -> None:
    await tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))


async def delete_expired_sessions(tx: Transaction, now: int) -> int:
    return await tx.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
