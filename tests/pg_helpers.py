"""A fresh PostgreSQL schema per test when FYNC_TEST_DATABASE_URL names a server
(`postgresql://postgres@127.0.0.1:5432/postgres`); unset, the suite runs on SQLite.

Each test gets a schema of its own in one database, `fync_tests`, reached through a
URL whose `search_path` names it: creating and dropping a schema takes a millisecond
where a database takes a few hundred, and the suite makes one per test.
"""
from __future__ import annotations

import asyncio
import functools
import os
import uuid

import asyncpg

SERVER_URL = os.environ.get("FYNC_TEST_DATABASE_URL", "")
TEST_DATABASE = "fync_tests"


def _run(coro):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _in_database(name: str, query: str = "") -> str:
    base = SERVER_URL.split("?", 1)[0].rpartition("/")[0]
    return f"{base}/{name}{query}"


@functools.cache
def _test_database() -> str:
    """The suite's database, created on first use."""
    try:
        _run(_admin(SERVER_URL, f'CREATE DATABASE "{TEST_DATABASE}"'))
    except asyncpg.DuplicateDatabaseError:
        pass
    return _in_database(TEST_DATABASE)


def create_database() -> str:
    """A new empty schema on the test server → the URL that uses it."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    _run(_admin(_test_database(), f'CREATE SCHEMA "{schema}"'))
    return _in_database(TEST_DATABASE, f"?search_path={schema}")


def drop_database(url: str) -> None:
    schema = url.rpartition("search_path=")[2]
    _run(_admin(_test_database(), f"SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
