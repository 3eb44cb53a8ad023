"""What storage promises on both engines, tested with the very same code on SQLite and,
when FYNC_TEST_DATABASE_URL is set, on PostgreSQL:

- one write contract (storage/store.py): a transaction body is async and may await
  storage calls — its transaction, the store's own reads, helpers built on them — and
  a body that raises leaves nothing behind;
- its own errors (storage/errors.py), never sqlite3's or asyncpg's;
- records, never engine rows: and no module outside storage imports sqlite3.
"""
from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import pytest

import pg_helpers
from gancio_like.oauth import credentials
from gancio_like.storage import tokens as token_store
from gancio_like.storage.db import Database
from gancio_like.storage.errors import Conflict, StorageError
from gancio_like.storage.pg import PgDatabase
from oauth_helpers import full_flow, register

ENGINES = ["sqlite"] + (["postgresql"] if pg_helpers.SERVER_URL else [])


@pytest.fixture(params=ENGINES)
def store(request, io_loop, tmp_path):
    if request.param == "sqlite":
        db = io_loop.run_sync(Database(tmp_path / "contract.db").open)
        url = None
    else:
        url = pg_helpers.create_database()
        db = io_loop.run_sync(PgDatabase(url).open)
    io_loop.run_sync(lambda: db.run_script("CREATE TABLE t (v INTEGER UNIQUE); "
                                           "CREATE TABLE u (t_v INTEGER REFERENCES t (v))"))
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
async def test_a_body_that_is_not_async_is_refused(store):
    with pytest.raises(TypeError):
        await store.write(lambda tx: None)


@pytest.mark.gen_test
async def test_bodies_written_together_each_commit_or_fail_alone(store):
    async def insert(tx, value):
        await tx.execute("INSERT INTO t (v) VALUES (?)", (value,))
        return value

    results = await asyncio.gather(*(store.write(lambda tx, v=v: insert(tx, v)) for v in (1, 2, 2, 3)),
                                   return_exceptions=True)
    assert results[:2] == [1, 2] and isinstance(results[2], Exception) and results[3] == 3
    assert await values(store) == [1, 2, 3]


# -- storage's own errors ------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_broken_constraint_is_a_conflict_through_every_door(store):
    await store.execute("INSERT INTO t (v) VALUES (?)", (1,))
    with pytest.raises(Conflict):  # unique, in a write() body
        await store.write(lambda tx: tx.execute("INSERT INTO t (v) VALUES (?)", (1,)))
    with pytest.raises(Conflict):  # foreign key, in a transaction
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO u (t_v) VALUES (?)", (2,))
    assert await values(store) == [1]


@pytest.mark.gen_test
async def test_a_bad_statement_is_a_storage_error_on_reads_and_writes(store):
    for attempt in (lambda: store.fetchall("SELECT nothing FROM t"),
                    lambda: store.write(lambda tx: tx.fetchone("SELECT nothing FROM t")),
                    lambda: store.execute("UPDATE nowhere SET v = 1")):
        with pytest.raises(StorageError) as raised:
            await attempt()
        assert type(raised.value).__module__ == "gancio_like.storage.errors"


# -- records, not rows ---------------------------------------------------------------------


@pytest.mark.gen_test
async def test_token_storage_hands_out_frozen_records(app, browser, make_user):
    user_id = await make_user("alice")
    await browser.login("alice")
    client = await register(browser, scope="profile")
    tokens = await full_flow(browser, client)
    record = await token_store.get_token(app.db, credentials.digest(tokens["refresh_token"]))
    assert isinstance(record, token_store.TokenRecord)
    assert (record.kind, record.client_id, record.user_id, record.username) == \
        ("refresh", client["client_id"], user_id, "alice")
    assert record.grant_revoked_at is None and record.is_live(record.created_at)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.kind = "access"
    grant, consent = await token_store.list_user_authorizations(app.db, user_id, record.created_at)
    assert isinstance(grant, token_store.Authorization) and isinstance(consent, token_store.Authorization)
    assert {grant.client_id, consent.client_id} == {client["client_id"]}
    assert {grant.last_used_at, consent.last_used_at} == {None, record.created_at}


ENGINE_MODULES = {"storage/db.py", "storage/copy.py", "storage/restore.py", "storage/migrate.py"}


def test_only_the_sqlite_engine_and_its_tools_import_sqlite3():
    root = Path(__file__).resolve().parent.parent
    found = [str(path.relative_to(root)) for folder in ("gancio_like", "plugins")
             for path in (root / folder).rglob("*.py")
             if re.search(r"^\s*(import sqlite3|from sqlite3 )", path.read_text(), re.M)]
    assert sorted(found) == sorted(f"gancio_like/{name}" for name in ENGINE_MODULES)
