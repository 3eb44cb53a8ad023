"""Several delivery workers over one outbox (federation/delivery.py, storage/federation.py):
each delivery goes out exactly once, one recipient's in order, and a row claimed by a
worker that is gone is retried once its lease runs out.

A fake inbox stands in for the network (`net.post` records what it is sent). On SQLite
the two workers share the one database, as two workers of one process would; with
FYNC_TEST_DATABASE_URL each has its own PgDatabase on the same database, as two
processes would."""
from __future__ import annotations

import asyncio
import json
import random
import time

import pytest

from gancio_like import clock, net
from gancio_like.federation import Federation, delivery, keys
from gancio_like.storage import federation as store


class FakeInbox:
    """Accepts every POST after a short random pause (so workers overlap); records the
    activity ids in the order they arrived."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []  # (inbox, activity id)
        self.gate: asyncio.Event | None = None    # when set, POSTs wait for it

    async def post(self, url: str, body: bytes, **_options) -> int:
        await asyncio.sleep(random.uniform(0, 0.01))
        if self.gate is not None:
            await self.gate.wait()
        self.received.append((url, json.loads(body)["id"]))
        return 202


@pytest.fixture
def inbox(monkeypatch):
    fake = FakeInbox()
    monkeypatch.setattr(net, "post", fake.post)
    return fake


@pytest.fixture
def other_db(io_loop, db, cfg):
    """The database as a second process sees it: its own pool on PostgreSQL; on SQLite
    (one process, one writer) the same object."""
    if db.dialect == "sqlite":
        yield db
        return
    from gancio_like.storage.pg import PgDatabase
    other = io_loop.run_sync(PgDatabase(cfg.database.url).open)
    yield other
    io_loop.run_sync(other.close)


@pytest.fixture
def workers(app, other_db):
    """Two workers: one on the app's database, one on the other process's."""
    return (delivery.DeliveryWorker(app.federation),
            delivery.DeliveryWorker(Federation(app.cfg, other_db)))


async def enqueue(db, user_id: int, recipients: int, each: int) -> dict[str, list[str]]:
    """`each` activities to each of `recipients` inboxes → the ids per inbox, in queue order."""
    await keys.key_pair(db, user_id)  # made once here, not by each of the first concurrent sends
    queued: dict[str, list[str]] = {}
    now = clock.now()
    async with db.transaction() as tx:
        for n in range(each):
            for r in range(recipients):
                inbox = f"https://peer{r}.example/inbox"
                activity_id = f"https://fync.example/activities/{r}-{n}"
                await store.insert_delivery(tx, user_id, f"user{r}@peer{r}.example", inbox,
                                            json.dumps({"id": activity_id, "type": "Follow"}), now)
                queued.setdefault(inbox, []).append(activity_id)
    return queued


async def pending(db) -> int:
    return await db.fetchval("SELECT count(*) FROM deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL")


async def drain(worker: delivery.DeliveryWorker, db, seconds: float = 30) -> None:
    """Run rounds until the queue is empty (the other worker may be the one emptying it)."""
    deadline = time.monotonic() + seconds
    while await pending(db):
        assert time.monotonic() < deadline, "the queue did not drain"
        if not await worker.run_once():
            await asyncio.sleep(0.005)


@pytest.mark.gen_test(timeout=60)
async def test_two_workers_send_every_delivery_exactly_once_and_in_order(db, make_user, inbox, workers):
    user_id = await make_user("alice")
    queued = await enqueue(db, user_id, recipients=25, each=3)
    await asyncio.gather(*(drain(w, db) for w in workers))
    sent = [activity_id for _, activity_id in inbox.received]
    assert len(sent) == len(set(sent)) == sum(map(len, queued.values()))
    for url, ids in queued.items():
        assert [a for u, a in inbox.received if u == url] == ids  # an Undo never overtakes its Follow
    rows = await db.fetchall("SELECT attempts, claimed_until FROM deliveries")
    assert all(r["attempts"] == 1 and r["claimed_until"] is None for r in rows)


@pytest.mark.gen_test(timeout=60)
async def test_a_claimed_delivery_is_skipped_by_the_other_worker(db, make_user, inbox, workers):
    user_id = await make_user("alice")
    await enqueue(db, user_id, recipients=3, each=1)
    inbox.gate = asyncio.Event()
    first = asyncio.ensure_future(workers[0].run_once())
    while not await db.fetchval("SELECT count(*) FROM deliveries WHERE claimed_until IS NOT NULL"):
        await asyncio.sleep(0.005)
    assert await workers[1].run_once() == 0  # all three are the first worker's, mid-send
    inbox.gate.set()
    assert await first == 3
    assert len(inbox.received) == 3 and await pending(db) == 0


@pytest.mark.gen_test(timeout=60)
async def test_a_crashed_workers_claim_runs_out_and_the_row_is_retried(db, make_user, inbox, workers,
                                                                        monkeypatch):
    user_id = await make_user("alice")
    await enqueue(db, user_id, recipients=1, each=2)
    now = clock.now()
    # A worker claimed the first row, then its process died: nobody records the try.
    claimed = await db.write(lambda tx: store.claim_due_deliveries(tx, db.dialect, now, 20, now + delivery.LEASE))
    assert len(claimed) == 1
    assert await workers[1].run_once() == 0  # leased, and the second row waits behind it
    monkeypatch.setattr(clock, "now", lambda: now + delivery.LEASE)
    await drain(workers[1], db)
    assert [a for _, a in inbox.received] == ["https://fync.example/activities/0-0",
                                              "https://fync.example/activities/0-1"]


@pytest.mark.gen_test(timeout=60)
async def test_a_stopped_worker_gives_its_claims_back(db, make_user, inbox, workers):
    user_id = await make_user("alice")
    await enqueue(db, user_id, recipients=2, each=1)
    inbox.gate = asyncio.Event()
    worker = workers[0]
    worker.start()
    while not await db.fetchval("SELECT count(*) FROM deliveries WHERE claimed_until IS NOT NULL"):
        await asyncio.sleep(0.005)
    await worker.stop()
    assert await db.fetchval("SELECT count(*) FROM deliveries WHERE claimed_until IS NOT NULL") == 0
    inbox.gate = None
    await drain(workers[1], db)  # at once, not after the lease
    assert sorted(a for _, a in inbox.received) == ["https://fync.example/activities/0-0",
                                                    "https://fync.example/activities/1-0"]


@pytest.mark.gen_test(timeout=60)
async def test_a_try_that_outlasts_its_time_is_a_failure_to_retry(db, make_user, inbox, workers, monkeypatch):
    user_id = await make_user("alice")
    await enqueue(db, user_id, recipients=1, each=1)  # the key made: the time runs out waiting on the peer
    monkeypatch.setattr(delivery, "ATTEMPT_TIMEOUT", 0.05)
    inbox.gate = asyncio.Event()  # never set: the peer never answers
    assert await workers[0].run_once() == 1
    row = await db.fetchone("SELECT attempts, last_error, claimed_until, delivered_at, gave_up_at FROM deliveries")
    assert row["attempts"] == 1 and "no answer" in row["last_error"]
    assert row["claimed_until"] is None and row["delivered_at"] is None and row["gave_up_at"] is None
