"""Row-level writes (issue 22): `db.write(body, serialized=False)` takes no cluster-wide
lock on PostgreSQL, runs on a writer connection of its own, and a body that PostgreSQL
aborts to break a deadlock runs again (storage/store.py). Two PgDatabase objects on
one schema stand for two processes. The contract part runs on SQLite too.
"""
from __future__ import annotations

import asyncio

import pytest

import pg_helpers
from gancio_like.storage.db import Database
from gancio_like.storage.pg import WRITE_LOCK_KEY, PgDatabase

ENGINES = ["sqlite"] + (["postgresql"] if pg_helpers.SERVER_URL else [])
NEEDS_POSTGRES = "row locks across connections need PostgreSQL: set FYNC_TEST_DATABASE_URL"


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path):
    if request.param == "sqlite":
        yield lambda: Database(tmp_path / "rows.db")
    else:
        url = pg_helpers.create_database()
        yield lambda: PgDatabase(url)
        pg_helpers.drop_database(url)


async def opened(make) -> Database | PgDatabase:
    db = await make().open()
    await db.run_script("CREATE TABLE IF NOT EXISTS r (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); "
                        "INSERT INTO r (id, n) VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING")
    return db


async def counts(db) -> list[int]:
    return [row[0] for row in await db.fetchall("SELECT n FROM r ORDER BY id")]


def bump(row_id: int, before: asyncio.Event | None = None, after: asyncio.Event | None = None):
    async def body(tx) -> int:
        if before is not None:
            await before.wait()
            await asyncio.sleep(0.1)  # the other side is blocked on its statement by now
        await tx.execute("UPDATE r SET n = n + 1 WHERE id = ?", (row_id,))
        if after is not None:
            after.set()
        return row_id
    return body


@pytest.mark.gen_test(timeout=30)
async def test_a_row_level_body_reads_locked_rows_and_commits(engine):
    db = await opened(engine)
    try:
        async def body(tx):
            row = await tx.fetchone_locked("SELECT n FROM r WHERE id = ?", (1,))
            await tx.execute("UPDATE r SET n = ? WHERE id = 1", (row[0] + 5,))
            return row[0]
        assert await db.write(body, serialized=False) == 0
        assert await counts(db) == [5, 0]
    finally:
        await db.close()


@pytest.mark.gen_test(timeout=30)
async def test_row_level_writes_do_not_wait_for_the_cluster_wide_lock(engine):
    if not isinstance(engine(), PgDatabase):
        pytest.skip(NEEDS_POSTGRES)
    holder, db = await opened(engine), await opened(engine)
    try:
        async with holder.transaction() as tx:  # "another process" holds the serialized lock
            await tx.execute("UPDATE r SET n = n WHERE id = 2")
            assert await asyncio.wait_for(db.write(bump(1), serialized=False), 5) == 1
            serialized = asyncio.ensure_future(db.write(bump(1)))
            await asyncio.sleep(0.5)
            assert not serialized.done()  # a serialized write does wait for it
        assert await asyncio.wait_for(serialized, 5) == 1
        assert await counts(db) == [2, 0]
    finally:
        await holder.close()
        await db.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_row_level_write_does_not_queue_behind_its_own_process_serialized_one(engine):
    """One process: its serialized lane waits for another's lock; its row-level lane goes on."""
    if not isinstance(engine(), PgDatabase):
        pytest.skip(NEEDS_POSTGRES)
    db = await opened(engine)
    other = await db._pool.acquire()
    try:
        await other.execute(f"SELECT pg_advisory_lock({WRITE_LOCK_KEY})")
        waiting = asyncio.ensure_future(db.write(bump(2)))
        await asyncio.sleep(0.2)
        assert await asyncio.wait_for(db.write(bump(1), serialized=False), 5) == 1
        assert not waiting.done()
        await other.execute(f"SELECT pg_advisory_unlock({WRITE_LOCK_KEY})")
        assert await asyncio.wait_for(waiting, 5) == 2
        assert await counts(db) == [1, 1]
    finally:
        await db._pool.release(other)
        await db.close()


@pytest.mark.gen_test(timeout=60)
async def test_a_deadlock_between_two_processes_groups_is_retried_not_failed(engine):
    """Group A locks row 1 then wants row 2; group B locks row 2 then wants row 1.
    PostgreSQL aborts one body (deadlock_timeout, 1 s); it runs again after its group
    committed, so all four bodies succeed and each row is bumped twice."""
    if not isinstance(engine(), PgDatabase):
        pytest.skip(NEEDS_POSTGRES)
    a, b = await opened(engine), await opened(engine)
    a_has_1, b_has_2 = asyncio.Event(), asyncio.Event()
    try:
        results = await asyncio.gather(
            a.write(bump(1, after=a_has_1), serialized=False), a.write(bump(2, before=b_has_2), serialized=False),
            b.write(bump(2, after=b_has_2), serialized=False), b.write(bump(1, before=a_has_1), serialized=False))
        assert results == [1, 2, 2, 1]
        assert await counts(a) == [2, 2]
    finally:
        await a.close()
        await b.close()
