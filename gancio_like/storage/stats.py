"""Counts for `fync stats` and the migration state `GET /health` reads.

Everything here goes through the reader connection: a monitor or an admin's shell
never waits behind the writer, and never takes its lock.
"""
from __future__ import annotations

from .db import Database


async def count_clients(db: Database) -> dict[str, int]:
    """Registered clients by status: active, pending, disabled."""
    rows = await db.fetchall("SELECT status, count(*) FROM clients GROUP BY status")
    return {status: n for status, n in rows}


async def count_live_tokens(db: Database, now: int) -> dict[str, int]:
    """Access and refresh tokens that still work (as `TokenRecord.is_live` decides one by one)."""
    rows = await db.fetchall(
        "SELECT t.kind, count(*) FROM tokens t JOIN grants g ON g.id = t.grant_id "
        "JOIN clients c ON c.id = g.client_pk WHERE t.revoked_at IS NULL AND t.spent_at IS NULL "
        "AND g.revoked_at IS NULL AND c.status = 'active' AND (t.expires_at IS NULL OR t.expires_at > ?) "
        "GROUP BY t.kind", (now,))
    return {kind: n for kind, n in rows}


async def count_sessions(db: Database, now: int) -> int:
    return await db.fetchval("SELECT count(*) FROM sessions WHERE expires_at > ?", (now,))


async def count_queued_deliveries(db: Database) -> int:
    """Federation deliveries neither delivered nor given up (SPEC §6); none before federation."""
    if not await _table_exists(db, "deliveries"):
        return 0
    return await db.fetchval("SELECT count(*) FROM deliveries "
                             "WHERE delivered_at IS NULL AND gave_up_at IS NULL")


async def _table_exists(db: Database, name: str) -> bool:
    if db.dialect == "postgresql":
        sql = ("SELECT count(*) FROM information_schema.tables "
               "WHERE table_schema = current_schema() AND table_name = ?")
    else:
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    return bool(await db.fetchval(sql, (name,)))


async def list_applied_migrations(db: Database) -> dict[tuple[str, str], str]:
    """{(owner, name): checksum} of the applied migrations (no bookkeeping table: none)."""
    if not await _table_exists(db, "schema_migrations"):
        return {}
    rows = await db.fetchall("SELECT owner, name, checksum FROM schema_migrations")
    return {(r["owner"], r["name"]): r["checksum"] for r in rows}
