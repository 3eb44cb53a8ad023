"""One write contract on both engines (storage/store.py): a transaction body is async
and may await storage calls — its transaction, the store's own reads, helpers built
on them — and a body that raises leaves nothing behind. The very same body runs on
SQLite and, when FYNC_TEST_DATABASE_URL is set, on PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest

import pg_helpers
from gancio_like.storage.db import Database
from gancio_like.storage.pg import PgDatabase

ENGINES = ["sqlite"] + (["postgresql"] if pg_helpers.SERVER_URL else [])


@pytest.fixture(params=ENGINES)
def store(request, io_loop, tmp_path):
    if request.param == "sqlite":
        db = io_loop.run_sync(Database(tmp_path / "contract.db").open)
        url = None
    else:
        url = pg_helpers.create_database()
        db = io_loop.run_sync(PgDatabase(url).open)
    io_loop.run_sync(lambda: db.execute("CREATE TABLE t (v INTEGER UNIQUE)"))
    yield db
    io_loop.run_sync(db.close)
    if url:
        pg_helpers.drop_database(url)


class Midway(Exception):
    pass


async def add(tx, value: int) -> int:
    """A helper coroutine that itself awaits its transaction: insert, then count."""
    await tx.execute("INSERT INTO t (v) VALUES (?)", (value,))
    return await tx.fetchval("SELECT count(*) FROM t")


def body(db, fail: bool):
    async def run(tx):
        committed = await db.fetchval("SELECT count(*) FROM t")  # the store's own read: truly waits
        seen = await tx.fetchval("SELECT count(*) FROM t")  # a read through the transaction
        assert seen == committed
        count = await add(tx, seen + 1)
        await add(tx, seen + 2)
        if fail:
            raise Midway(count)
        return count
    return run


async def values(db) -> list[int]:
    return [row[0] for row in await db.fetchall("SELECT v FROM t ORDER BY v")]


@pytest.mark.gen_test
async def test_the_same_body_commits_through_write_and_transaction(store):
    assert await store.write(body(store, fail=False)) == 1
    async with store.transaction() as tx:
        assert await body(store, fail=False)(tx) == 3
    assert await values(store) == [1, 2, 3, 4]


@pytest.mark.gen_test
async def test_a_body_raising_midway_leaves_nothing(store):
    await store.write(body(store, fail=False))
    with pytest.raises(Midway):
        await store.write(body(store, fail=True))
    with pytest.raises(Midway):
        async with store.transaction() as tx:
            await body(store, fail=True)(tx)
    assert await values(store) == [1, 2]
    assert await store.write(body(store, fail=False)) == 3  # and the store still writes


@pytest.mark.gen_test
async def test_bodies_written_together_each_commit_or_fail_alone(store):
    async def insert(tx, value):
        await tx.execute("INSERT INTO t (v) VALUES (?)", (value,))
        return value

    results = await asyncio.gather(*(store.write(lambda tx, v=v: insert(tx, v)) for v in (1, 2, 2, 3)),
                                   return_exceptions=True)
    assert results[:2] == [1, 2] and isinstance(results[2], Exception) and results[3] == 3
    assert await values(store) == [1, 2, 3]
