"""What both database engines share (SQLite in db.py, PostgreSQL in pg.py): the one
write contract, the row caches, and telling plugins after COMMIT.

The write contract, the same on both engines: a transaction body is `async` and
may await storage calls (its `tx`, the store's own reads, storage functions built
on them) and pure code — never network I/O, since it holds the write lock.
Two ways to write, both run here and nowhere else:

- `async with db.transaction() as tx:` — the rare writes that may touch anything:
  their COMMIT empties every row cache;
- `await db.write(body)` — the hot paths: `await body(tx)`, its result once committed.
  Bodies queued in the same loop turn share one transaction (group commit); one
  body's failure undoes only its own statements (see `_run_group`).

Serialized or row-level. SQLite serializes every write transaction. PostgreSQL does
the same for `transaction()` and, by default, for `write()` bodies, with one
cluster-wide lock (`SERIALIZE`), so code written for SQLite stays correct there. A
body whose correctness rests on its rows alone (`UPDATE … WHERE spent_at IS NULL`,
unique keys, rows read with `fetchone_locked`) says so with `write(body,
serialized=False)`: the hot OAuth paths do, so processes sharing a database do not
queue behind each other. Each kind has its own lane — writer connection, queue and
turn (`Lane`) — on PostgreSQL, so a row-level body never waits behind a serialized
one of its own process either; SQLite has one connection, so one lane. Row-level
bodies may meet other transactions' row locks in the other order; PostgreSQL then
aborts one side (`Contended`), and its bodies run again in the next group.

An engine supplies the statements that differ (`BEGIN`, `SERIALIZE`, `_commit_sql`),
readies a lane's writer connection (`_ready_writer`), makes transaction objects on
it (`_transaction`), runs control statements (`_control`) and undoes a failed
transaction (`_abort`).
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Protocol

from .errors import Contended


class Row(Protocol):
    """A result row of either engine (sqlite3.Row, asyncpg.Record), read by position or
    column name. Rows never leave storage: its functions turn them into models."""

    def __getitem__(self, key: int | str) -> Any: ...


class Listeners(Protocol):
    """Who hears of committed changes (the plugin host, given when the database is made):
    the hooks someone listens to, and how to tell them."""

    def wanted(self) -> frozenset[str]: ...

    def notify(self, notification) -> None: ...


MAX_GROUP = 64  # write bodies sharing one COMMIT at most
MAX_RUNS = 4  # a body aborted by lock contention runs again, this many times in all


class EpochCache:
    """A dict of rows, emptied whenever something they came from may have changed."""

    def __init__(self, max_entries: int = 100_000):
        self.epoch, self.max_entries = 0, max_entries
        self.enabled = True  # off while another process's invalidations cannot reach us
        self._entries: dict = {}

    def get(self, key):
        return self._entries.get(key)

    def fill(self, key, value, epoch: int) -> None:
        """Keep `value` only if nothing was invalidated since the read began."""
        if epoch == self.epoch and self.enabled:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = value

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()


class Lane:
    """One writer connection's turn: its lock, the write bodies waiting for a group, the
    task running them. `conn` is the engine's to keep (SQLite keeps its own elsewhere)."""

    def __init__(self, serialized: bool):
        self.serialized = serialized
        self.lock = asyncio.Lock()
        self.queue: list[_Queued] = []
        self.flusher: asyncio.Task | None = None
        self.conn = None


class Store:
    """The caches, the write lanes and the write contract; see the module docstring."""

    BEGIN: tuple[str, ...] = ()  # the statements that open a write transaction
    SERIALIZE: tuple[str, ...] = ()  # then, on the serialized lane: wait for other such writers
    ROW_LANE = False  # whether row-level bodies get a lane (a writer connection) of their own

    def __init__(self, listeners: Listeners | None = None):
        self._serial = Lane(serialized=True)
        self._rowlevel = Lane(serialized=False) if self.ROW_LANE else self._serial
        self._write_lock = self._serial.lock
        self.caches: dict[str, EpochCache] = {}
        self._caches_on = True  # PostgreSQL turns them off while it cannot hear other processes
        self.wanted: frozenset[str] = listeners.wanted() if listeners else frozenset()
        self._dispatch = listeners.notify if listeners else None

    def cache(self, name: str) -> EpochCache:
        cache = self.caches.get(name)  # not setdefault: that would build a cache per call
        if cache is None:
            cache = self.caches[name] = EpochCache()
            cache.enabled = self._caches_on
        return cache

    def invalidate(self) -> None:
        for cache in self.caches.values():
            cache.clear()

    async def fetchval(self, sql: str, params: Iterable[Any] = ()):
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One write statement in its own transaction; returns the rows changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    def _after_commit(self, tx: "Transaction") -> None:
        if tx.invalidates:
            self.invalidate()
        for notification in tx.notifications:
            self._dispatch(notification)

    # -- the write contract -----------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Transaction"]:
        """`async with db.transaction() as tx:` — commits on success, rolls back on error.
        Every commit here empties the caches: these writes are rare and may touch anything."""
        lane = self._serial
        async with lane.lock:
            await self._ready_writer(lane)
            tx = self._transaction(lane)
            tx.invalidate()
            try:
                await self._control(lane, *self.BEGIN, *self.SERIALIZE)
                yield tx
                await self._control(lane, *self._commit_sql(tx.invalidates))
            except BaseException:
                await self._abort(lane)
                raise
        self._after_commit(tx)

    async def write(self, body: Callable[["Transaction"], Awaitable[Any]], *, serialized: bool = True):
        """`await body(tx)` inside a group commit → its result, once committed.
        `serialized=False`: the body is correct on row-level conditions alone (see above)."""
        lane = self._serial if serialized else self._rowlevel
        queued = _Queued(body, asyncio.get_running_loop().create_future())
        lane.queue.append(queued)
        if lane.flusher is None or lane.flusher.done():
            lane.flusher = asyncio.ensure_future(self._flush(lane))
        return await queued.future

    async def _drain(self) -> None:
        """Before closing: let queued bodies finish."""
        for lane in {id(self._serial): self._serial, id(self._rowlevel): self._rowlevel}.values():
            if lane.flusher is not None:
                await lane.flusher

    async def _flush(self, lane: Lane) -> None:
        await asyncio.sleep(0)  # one more loop turn: requests read in it join this group
        while lane.queue:
            batch, lane.queue = lane.queue[:MAX_GROUP], lane.queue[MAX_GROUP:]
            async with lane.lock:
                outcomes = await self._run_group(lane, [q.body for q in batch])
            for queued, (result, error, tx) in zip(batch, outcomes):
                if tx is not None:
                    self._after_commit(tx)
                if queued.future.done():
                    continue
                queued.runs += 1
                if isinstance(error, Contended) and queued.runs < MAX_RUNS:
                    lane.queue.append(queued)  # into a later group, once this one freed its locks
                elif error is None:
                    queued.future.set_result(result)
                else:
                    queued.future.set_exception(error)

    async def _run_group(self, lane: Lane, bodies: list) -> list[tuple]:
        """One transaction for `bodies` → one (result, error, tx) per body.

        Optimistic first, without SAVEPOINTs (each is a round trip on PostgreSQL). When a
        body fails, that transaction is rolled back: the body keeps its error, and the
        others run again, each inside its own SAVEPOINT so that a failure undoes only
        its own statements. Bodies only touch storage, so running one again is safe."""
        first = await self._attempt(lane, bodies, savepoints=False)
        if isinstance(first, list):
            return first
        failed, error = first
        others = bodies[:failed] + bodies[failed + 1:]
        outcomes = await self._attempt(lane, others, savepoints=True) if others else []
        outcomes.insert(failed, (None, error, None))
        return outcomes

    async def _attempt(self, lane: Lane, bodies: list, savepoints: bool) -> list[tuple] | tuple[int, BaseException]:
        """BEGIN, the bodies, COMMIT → their outcomes; without savepoints, the first body
        to fail ends it → (its index, its error). Neighbouring control statements go
        together (one round trip on PostgreSQL); a fault of the transaction itself
        fails every body of it."""
        mark = ("SAVEPOINT body",) if savepoints else ()
        try:
            await self._ready_writer(lane)
            await self._control(lane, *self.BEGIN, *(self.SERIALIZE if lane.serialized else ()), *mark)
            outcomes = []
            for i, body in enumerate(bodies):
                if i and savepoints:
                    await self._control(lane, "RELEASE SAVEPOINT body", "SAVEPOINT body")
                outcome = await self._run_body(lane, body, savepoints)
                if outcome[1] is not None and not savepoints:
                    await self._abort(lane)
                    return i, outcome[1]
                outcomes.append(outcome)
            tell = any(tx is not None and tx.invalidates for _, _, tx in outcomes)
            await self._control(lane, *(("RELEASE SAVEPOINT body",) if savepoints else ()), *self._commit_sql(tell))
        except BaseException as exc:
            await self._abort(lane)
            return [(None, exc, None)] * len(bodies)
        return outcomes

    async def _run_body(self, lane: Lane, body, savepoint: bool) -> tuple:
        tx = self._transaction(lane)
        try:
            result = await body(tx)
        except Exception as exc:
            if savepoint:
                await self._control(lane, "ROLLBACK TO SAVEPOINT body")  # the savepoint stays, for the next body
            return None, exc, None
        return result, None, tx

    # -- what each engine supplies ------------------------------------------------------
    async def _ready_writer(self, lane: Lane) -> None:
        """Before BEGIN: (re)connect the lane's writer connection if it is missing or unfit."""
        raise NotImplementedError

    def _transaction(self, lane: Lane) -> "Transaction":
        """A transaction object on the lane's writer connection."""
        raise NotImplementedError

    async def _control(self, lane: Lane, *statements: str) -> None:
        """Run transaction-control statements on the lane's writer connection, in order."""
        raise NotImplementedError

    def _commit_sql(self, invalidates: bool) -> tuple[str, ...]:
        return ("COMMIT",)

    async def _abort(self, lane: Lane) -> None:
        """Roll back whatever is open on the lane's writer connection."""
        raise NotImplementedError


class _Queued:
    """A `write()` body waiting for its group, and how often it ran."""
    __slots__ = ("body", "future", "runs")

    def __init__(self, body: Callable, future: asyncio.Future):
        self.body, self.future, self.runs = body, future, 0


class Transaction:
    """The writer connection inside `transaction()` or a `write()` body: each engine
    adds execute, executemany, insert, fetchone and fetchall."""

    def __init__(self, db: Store):
        self._wanted = db.wanted
        self.notifications: list = []
        self.invalidates = False

    ROW_LOCKS = False  # whether `FOR UPDATE` and its kin mean anything here (PostgreSQL)
    dialect = "sqlite"  # for the few statements written once per engine

    async def fetchval(self, sql: str, params: Iterable[Any] = ()):
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def fetchone_locked(self, sql: str, params: Iterable[Any] = (), mode: str = "UPDATE"):
        """The row, locked against other writers until COMMIT (`FOR {mode}` on PostgreSQL,
        e.g. "UPDATE OF t" or "KEY SHARE"): for a read that decides a write in a body that
        is not serialized. On SQLite, where writes are serialized anyway, a plain read."""
        return await self.fetchone(f"{sql} FOR {mode}" if self.ROW_LOCKS else sql, params)

    async def fetchall_locked(self, sql: str, params: Iterable[Any] = (), mode: str = "UPDATE") -> list:
        return await self.fetchall(f"{sql} FOR {mode}" if self.ROW_LOCKS else sql, params)

    def invalidate(self) -> None:
        """After COMMIT, empty the row caches (a revocation or a change they hold)."""
        self.invalidates = True

    def listens(self, make) -> bool:
        """Whether any plugin wants this kind of notification (skip the work if not)."""
        return make.hook in self._wanted

    def notify(self, make, **fields) -> None:
        """Queue a notification for after COMMIT; free when no plugin listens to it."""
        if make.hook in self._wanted:
            self.notifications.append(make(**fields))
