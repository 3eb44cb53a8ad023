"""What both database engines share (SQLite in db.py, PostgreSQL in pg.py): the one
write contract, the row caches, and telling plugins after COMMIT.

The write contract, the same on both engines: a transaction body is `async` and
may await storage calls (its `tx`, the store's own reads, storage functions built
on them) and pure code — never network I/O, since it holds the write lock.
Two ways to write, both run here and nowhere else:

- `async with db.transaction() as tx:` — the rare writes that may touch anything:
  their COMMIT empties every row cache;
- `await db.write(body)` — the hot paths: `await body(tx)`, its result once committed.
  Bodies queued in the same loop turn share one transaction (group commit), each
  inside its own SAVEPOINT, so one body's failure undoes only its own statements.

An engine supplies the statements that differ (`BEGIN`, `_commit_sql`), readies its
writer connection (`_ready_writer`), makes transaction objects on it (`_transaction`),
runs control statements (`_control`) and undoes a failed transaction (`_abort`).
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Protocol


class Row(Protocol):
    """A result row of either engine (sqlite3.Row, asyncpg.Record), read by position or
    column name. Rows never leave storage: its functions turn them into models."""

    def __getitem__(self, key: int | str) -> Any: ...

MAX_GROUP = 64  # write bodies sharing one COMMIT at most


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


class Store:
    """The caches, the write lock and the write contract; see the module docstring."""

    BEGIN: tuple[str, ...] = ()  # the statements that open a write transaction

    def __init__(self):
        self._write_lock = asyncio.Lock()
        self._queue: list[tuple[Callable, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self.caches: dict[str, EpochCache] = {}
        self._caches_on = True  # PostgreSQL turns them off while it cannot hear other processes
        # Set by the plugin host: the hook names someone listens to, and how to tell them.
        self.wanted: frozenset[str] = frozenset()
        self.dispatch = None

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
            self.dispatch(notification)

    # -- the write contract -----------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Transaction"]:
        """`async with db.transaction() as tx:` — commits on success, rolls back on error.
        Every commit here empties the caches: these writes are rare and may touch anything."""
        async with self._write_lock:
            await self._ready_writer()
            tx = self._transaction()
            tx.invalidate()
            try:
                await self._control(*self.BEGIN)
                yield tx
                await self._control(*self._commit_sql(tx.invalidates))
            except BaseException:
                await self._abort()
                raise
        self._after_commit(tx)

    async def write(self, body: Callable[["Transaction"], Awaitable[Any]]):
        """`await body(tx)` inside a group commit → its result, once committed."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append((body, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # one more loop turn: requests read in it join this group
        while self._queue:
            batch, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            async with self._write_lock:
                outcomes = await self._run_group([body for body, _ in batch])
            for (_, future), (result, error, tx) in zip(batch, outcomes):
                if tx is not None:
                    self._after_commit(tx)
                if future.done():
                    continue
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)

    async def _run_group(self, bodies: list) -> list[tuple]:
        """BEGIN, each body in a SAVEPOINT, COMMIT → one (result, error, tx) per body.
        Neighbouring control statements go together (one round trip on PostgreSQL);
        a fault of the transaction itself fails every body of it."""
        try:
            await self._ready_writer()
            await self._control(*self.BEGIN, "SAVEPOINT body")
            outcomes = []
            for i, body in enumerate(bodies):
                if i:
                    await self._control("RELEASE SAVEPOINT body", "SAVEPOINT body")
                outcomes.append(await self._run_body(body))
            tell = any(tx is not None and tx.invalidates for _, _, tx in outcomes)
            await self._control("RELEASE SAVEPOINT body", *self._commit_sql(tell))
        except BaseException as exc:
            await self._abort()
            return [(None, exc, None)] * len(bodies)
        return outcomes

    async def _run_body(self, body) -> tuple:
        tx = self._transaction()
        try:
            result = await body(tx)
        except Exception as exc:
            await self._control("ROLLBACK TO SAVEPOINT body")  # the savepoint stays, for the next body
            return None, exc, None
        return result, None, tx

    # -- what each engine supplies ------------------------------------------------------
    async def _ready_writer(self) -> None:
        """Before BEGIN: (re)connect the writer connection if it is missing or unfit."""
        raise NotImplementedError

    def _transaction(self) -> "Transaction":
        """A transaction object on the writer connection."""
        raise NotImplementedError

    async def _control(self, *statements: str) -> None:
        """Run transaction-control statements on the writer connection, in order."""
        raise NotImplementedError

    def _commit_sql(self, invalidates: bool) -> tuple[str, ...]:
        return ("COMMIT",)

    async def _abort(self) -> None:
        """Roll back whatever is open on the writer connection."""
        raise NotImplementedError


class Transaction:
    """The writer connection inside `transaction()` or a `write()` body: each engine
    adds execute, executemany, insert, fetchone and fetchall."""

    def __init__(self, db: Store):
        self._wanted = db.wanted
        self.notifications: list = []
        self.invalidates = False

    async def fetchval(self, sql: str, params: Iterable[Any] = ()):
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

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
