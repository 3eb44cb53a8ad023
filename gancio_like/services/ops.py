"""What an admin or a monitor asks of a running instance: `GET /health` and `fync stats`."""
from __future__ import annotations

import asyncio
import logging

from .. import clock
from ..storage import stats as stats_store
from ..storage import users as user_store
from ..storage.db import Database
from ..storage.migrate import Migration

log = logging.getLogger("fync")
HEALTH_TIMEOUT = 2.0  # seconds; a monitor would rather hear "timeout" than nothing


async def health(db: Database, migrations: list[Migration]) -> dict:
    """{"status", "database", "migrations"}: "ok"/"ok"/"current" when all is well.
    Code that expects no core migration is broken, whatever the database holds."""
    if not any(m.owner == "core" for m in migrations):
        return {"status": "error", "database": "unknown", "migrations": "missing", "missing": "core"}
    try:
        applied = await asyncio.wait_for(stats_store.list_applied_migrations(db), HEALTH_TIMEOUT)
    except asyncio.TimeoutError:
        return {"status": "error", "database": "timeout", "migrations": "unknown"}
    except Exception as exc:  # whatever stops one read (closed, corrupt, missing file) means "down"
        log.error("health: database unreachable: %s", exc)
        return {"status": "error", "database": "unreachable", "migrations": "unknown"}
    behind = pending_migrations(applied, migrations)
    if behind:
        return {"status": "error", "database": "ok", "migrations": "pending", "pending": len(behind)}
    return {"status": "ok", "database": "ok", "migrations": "current"}


def pending_migrations(applied: dict, migrations: list[Migration]) -> list[Migration]:
    """The code's migrations the database lacks, or holds in another version."""
    return [m for m in migrations if applied.get((m.owner, m.name)) != m.checksum]


async def stats(db: Database) -> dict[str, int]:
    """Users, clients, live tokens, sessions and queued federation deliveries."""
    now = clock.now()
    clients = await stats_store.count_clients(db)
    tokens = await stats_store.count_live_tokens(db, now)
    return {
        "users": await user_store.count_users(db),
        "clients": sum(clients.values()),
        "clients_active": clients.get("active", 0),
        "clients_pending": clients.get("pending", 0),
        "clients_disabled": clients.get("disabled", 0),
        "active_tokens": sum(tokens.values()),
        "active_access_tokens": tokens.get("access", 0),
        "active_refresh_tokens": tokens.get("refresh", 0),
        "sessions": await stats_store.count_sessions(db, now),
        "queued_deliveries": await stats_store.count_queued_deliveries(db),
    }
