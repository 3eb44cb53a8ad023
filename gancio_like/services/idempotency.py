"""Remembering answers by `Idempotency-Key` (handlers/idempotency.py has the header's
rules): each step is its own short transaction, so a slow request holds no lock."""
from __future__ import annotations

from .. import clock
from ..storage import idempotency as store
from ..storage.db import Database
from ..storage.idempotency import KeyUse

__all__ = ["KeyUse", "claim", "finish", "release"]


async def claim(db: Database, owner: tuple[int, int], key: str, fingerprint: bytes) -> KeyUse | None:
    """Take the key for this request → None, or how it was used before."""
    async with db.transaction() as tx:
        return await store.claim(tx, owner, key, fingerprint, clock.now())


async def finish(db: Database, owner: tuple[int, int], key: str, status: int, body: str) -> None:
    """Keep the answer, to replay it to a retry."""
    async with db.transaction() as tx:
        await store.finish(tx, owner, key, status, body)


async def release(db: Database, owner: tuple[int, int], key: str) -> None:
    """Forget the key (a 5xx or 429 may go differently next time)."""
    async with db.transaction() as tx:
        await store.release(tx, owner, key)
