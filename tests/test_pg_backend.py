"""The PostgreSQL backend's own behaviour (storage/pg.py): the SQL it rewrites, and
what it does when its connections break. Server tests need FYNC_TEST_DATABASE_URL."""
import asyncio

import pytest

import pg_helpers
from gancio_like.storage.pg import PgDatabase, redact, translate

needs_server = pytest.mark.skipif(not pg_helpers.SERVER_URL, reason="needs FYNC_TEST_DATABASE_URL")


@pytest.mark.parametrize("sqlite, postgres", [
    ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"),
    ("SELECT '?' FROM t WHERE a = ?", "SELECT '?' FROM t WHERE a = $1"),
    ("INSERT OR IGNORE INTO t (a) VALUES (?)", "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"),
    ("SELECT group_concat(tag, char(31)) FROM t", "SELECT string_agg(tag, chr(31)) FROM t"),
])
def test_translate(sqlite, postgres):
    assert translate(sqlite) == postgres


def test_redact_hides_only_the_password():
    assert redact("postgresql://fync:s3cret@db.example:5432/fync") == "postgresql://fync:***@db.example:5432/fync"
    assert redact("postgresql://fync@db.example/fync") == "postgresql://fync@db.example/fync"


async def _terminate(db: PgDatabase, application_name: str) -> None:
    await db.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE application_name = ? AND pid <> pg_backend_pid()", (application_name,))


@needs_server
@pytest.mark.gen_test
async def test_a_broken_writer_connection_is_replaced(database_url):
    db = await PgDatabase(database_url).open()
    try:
        await db.run_script("CREATE TABLE t (v BIGINT)")
        await _terminate(db, "fync-write")
        await asyncio.sleep(0.2)  # the socket's EOF reaches asyncpg

        async def body(tx):
            await tx.execute("INSERT INTO t (v) VALUES (?)", (1,))
        await db.write(body)
        assert await db.fetchval("SELECT count(*) FROM t") == 1
    finally:
        await db.close()


@needs_server
@pytest.mark.gen_test(timeout=20)
async def test_caches_are_off_while_the_listener_is_down(database_url, monkeypatch):
    monkeypatch.setattr("gancio_like.storage.pg.LISTENER_RETRY_SECONDS", 0.2)
    db = await PgDatabase(database_url).open()
    try:
        cache = await db.fresh_cache("access")
        cache.fill("k", "v", cache.epoch)
        assert cache.get("k") == "v"
        await _terminate(db, "fync-listen")
        for _ in range(50):  # caches go off at once, and on again once it reconnects
            await asyncio.sleep(0.05)
            if not cache.enabled:
                break
        assert not cache.enabled and cache.get("k") is None
        for _ in range(100):
            await asyncio.sleep(0.05)
            if cache.enabled:
                break
        assert cache.enabled
    finally:
        await db.close()


@pytest.mark.gen_test
async def test_unreachable_server_is_storage_unavailable_naming_no_password():
    from gancio_like.storage.errors import Unavailable
    with pytest.raises(Unavailable) as err:
        await PgDatabase("postgresql://fync:s3cret@127.0.0.1:1/fync").open()
    assert "s3cret" not in str(err.value)
