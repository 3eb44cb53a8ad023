"""Sliding-window throttles (services/throttle.py): the in-memory one SQLite uses and the
database one PostgreSQL uses behave alike, and the database one is shared by processes.

Each behaviour runs against both kinds; the database kind runs on whichever backend
the suite runs on (FYNC_TEST_DATABASE_URL), so SQLite and PostgreSQL both see it."""
from __future__ import annotations

import asyncio

import pytest

import pg_helpers
from gancio_like import clock
from gancio_like.services.throttle import DbThrottle, MemoryThrottle, throttle_for
from gancio_like.storage import rate_limits


@pytest.fixture
def now(monkeypatch):
    """The clock, frozen at 1000 s; move it with `now[0] += n`."""
    moment = [1000]
    monkeypatch.setattr(clock, "now", lambda: moment[0])
    return moment


@pytest.fixture(params=["memory", "db"])
def make_throttle(request, now):
    """`make_throttle(limit, window)` → a throttle of the parametrized kind."""
    if request.param == "memory":
        return MemoryThrottle
    db = request.getfixturevalue("db")
    return lambda limit, window: DbThrottle(db, "test", limit, window)


@pytest.mark.gen_test
async def test_the_window_slides(make_throttle, now):
    throttle = make_throttle(2, 60)
    await throttle.hit(("k",))
    now[0] += 30
    await throttle.hit(("k",))
    assert await throttle.retry_after(("k",)) == 30
    now[0] += 30
    assert await throttle.retry_after(("k",)) == 0


@pytest.mark.gen_test
async def test_attempt_counts_until_the_limit_then_refuses_without_counting(make_throttle, now):
    throttle = make_throttle(3, 60)
    assert [await throttle.attempt(("k",)) for _ in range(3)] == [0, 0, 0]
    assert await throttle.attempt(("k",)) == 60
    now[0] += 59
    assert await throttle.attempt(("k",)) == 1  # the refused attempts did not push the window on
    now[0] += 1
    assert await throttle.attempt(("k",)) == 0


@pytest.mark.gen_test
async def test_any_key_over_its_limit_refuses_and_counts_none(make_throttle, now):
    throttle = make_throttle(2, 60)
    await throttle.attempt(("user", "alice"), ("ip", "a"))
    await throttle.attempt(("user", "bob"), ("ip", "a"))
    assert await throttle.attempt(("user", "carol"), ("ip", "a")) == 60
    assert await throttle.retry_after(("user", "carol")) == 0
    assert await throttle.attempt(("user", "carol"), ("ip", "b")) == 0


@pytest.mark.gen_test
async def test_forgive_gives_back_one_hit_and_reset_forgets_the_key(make_throttle, now):
    throttle = make_throttle(2, 60)
    await throttle.attempt(("k",))
    await throttle.attempt(("k",))
    await throttle.forgive(("k",))
    assert await throttle.attempt(("k",)) == 0
    assert await throttle.attempt(("k",)) == 60
    await throttle.reset(("k",))
    assert await throttle.retry_after(("k",)) == 0
    await throttle.forgive(("never-seen",))  # nothing to give back: no error


@pytest.mark.gen_test
async def test_keys_of_other_throttles_and_other_keys_do_not_count(make_throttle, now):
    throttle = make_throttle(1, 60)
    await throttle.attempt(("login-ip", "a"))
    assert await throttle.retry_after(("login-ip", "b")) == 0
    assert await throttle.retry_after(("login-ip", "a", "x")) == 0
    if isinstance(throttle, DbThrottle):  # rows of another limit ("register") are not this one's
        assert await DbThrottle(throttle.db, "other", 1, 60).retry_after(("login-ip", "a")) == 0


@pytest.mark.gen_test
async def test_concurrent_attempts_cannot_all_pass(make_throttle, now):
    throttle = make_throttle(3, 60)
    waits = await asyncio.gather(*(throttle.attempt(("k",)) for _ in range(10)))
    assert sorted(waits) == [0] * 3 + [60] * 7


@pytest.mark.gen_test
async def test_old_hits_are_swept(make_throttle, now):
    throttle = make_throttle(5, 60)
    for i in range(200):
        await throttle.hit(("login-user", f"name{i}"))
    now[0] += 61
    await throttle.hit(("login-user", "other"))
    if isinstance(throttle, MemoryThrottle):
        assert len(throttle) == 1
    else:
        assert await rate_limits.count_hits(throttle.db, "test") == 1


def test_memory_forgets_old_keys(now):
    throttle = MemoryThrottle(5, 60)
    for i in range(5000):
        throttle._count((("login-user", f"name{i}"),), now[0])
    now[0] += 61
    for i in range(5000):
        throttle._count((("login-user", f"other{i}"),), now[0])
    assert len(throttle) <= 5000


@pytest.mark.gen_test
async def test_the_app_counts_in_memory_on_sqlite_and_in_the_database_on_postgresql(app, db):
    kind = MemoryThrottle if db.dialect == "sqlite" else DbThrottle
    assert isinstance(app.login_throttle, kind) and isinstance(app.registration_throttle, kind)
    assert isinstance(throttle_for(db, "x", 1, 60), kind)


# -- several processes (PostgreSQL) --------------------------------------------------------------

needs_pg = pytest.mark.skipif(not pg_helpers.SERVER_URL, reason="needs FYNC_TEST_DATABASE_URL")


@pytest.fixture
def second_process(io_loop, db, cfg):
    """Another connection pool on the same database, as a second process would have."""
    from gancio_like.storage.pg import PgDatabase
    other = io_loop.run_sync(PgDatabase(cfg.database.url).open)
    yield other
    io_loop.run_sync(other.close)


@needs_pg
@pytest.mark.gen_test
async def test_two_processes_share_one_limit(db, second_process, now):
    a, b = DbThrottle(db, "login", 4, 60), DbThrottle(second_process, "login", 4, 60)
    key = ("login-user", "alice")
    waits = await asyncio.gather(*(t.attempt(key, ("login-ip", str(i))) for i, t in enumerate([a, b] * 6)))
    assert sorted(waits) == [0] * 4 + [60] * 8
    assert await a.retry_after(key) == await b.retry_after(key) == 60
    await b.reset(key)  # a right password through the other process
    assert await a.attempt(key) == 0


@needs_pg
@pytest.mark.gen_test
async def test_a_guesser_spread_over_processes_gets_no_more_tries(app, db, second_process, now):
    """The app's own login throttle and another process's, the same config: one limit."""
    limit = app.cfg.security.login_failures_per_minute
    other = throttle_for(second_process, "login", limit, 60)
    key = ("login-ip", "203.0.113.5")
    passed = [await t.attempt(key) for t in [app.login_throttle, other] * limit]
    assert passed.count(0) == limit
