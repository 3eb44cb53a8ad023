"""Password reset links (migrations/0012_people.sql): only their tokens' digests."""
from __future__ import annotations

from .db import Database, Transaction

Reader = Database | Transaction


async def insert_reset(tx: Transaction, token_hash: bytes, user_id: int, now: int, expires_at: int) -> None:
    await tx.execute("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) "
                     "VALUES (?, ?, ?, ?)", (token_hash, user_id, now, expires_at))


async def count_recent_resets(db: Reader, user_id: int, since: int) -> int:
    """Links made for the account since `since` (used or not): the mails it was sent."""
    return await db.fetchval("SELECT count(*) FROM password_resets WHERE user_id = ? AND created_at >= ?",
                             (user_id, since))


async def get_usable_reset(db: Reader, token_hash: bytes, now: int) -> int | None:
    """The account a link opens, if it is unused and unexpired."""
    return await db.fetchval("SELECT user_id FROM password_resets WHERE token_hash = ? AND used_at IS NULL "
                             "AND expires_at > ?", (token_hash, now))


async def use_reset(tx: Transaction, token_hash: bytes, user_id: int, now: int) -> bool:
    """Spend the link (once: a second use, or a race, changes nothing) and every other
    open link of the account → whether this one was still usable."""
    used = await tx.execute("UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND user_id = ? "
                            "AND used_at IS NULL AND expires_at > ?", (now, token_hash, user_id, now))
    await tx.execute("UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                     (now, user_id))
    return used == 1


async def delete_old_resets(tx: Transaction, before: int) -> int:
    """Forget links made before `before` (past their hour, and out of the mail count)."""
    return await tx.execute("DELETE FROM password_resets WHERE created_at < ?", (before,))
