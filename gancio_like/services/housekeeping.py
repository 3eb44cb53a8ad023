"""Periodic clean-up of rows that can never be used again (expired sessions,
codes, pending consent requests, tokens, the portal's unread reveals, idempotency keys,
password reset links past their hour, and push subscriptions of grants whose tokens all
expired), so tables stay small."""
from __future__ import annotations

import logging

from .. import clock
from ..storage import idempotency as idempotency_store
from ..storage import password_resets as reset_store
from ..storage import push as push_store
from ..storage import reveals as reveal_store
from ..storage import sessions as session_store
from ..storage import tokens as token_store
from ..storage.db import Database

log = logging.getLogger("fync")
INTERVAL = 3600  # seconds between sweeps


async def sweep(db: Database) -> int:
    now = clock.now()
    async with db.transaction() as tx:
        removed = await session_store.delete_expired_sessions(tx, now)
        removed += await token_store.delete_expired(tx, now)
        removed += await reveal_store.delete_expired(tx, now)
        removed += await reset_store.delete_old_resets(tx, now - 3600)  # past their hour, out of the count
        removed += await idempotency_store.delete_expired(tx, now)
        removed += await push_store.delete_dead_subscriptions(tx, now)
    if removed:
        log.info("housekeeping: removed %d expired row(s)", removed)
    return removed
