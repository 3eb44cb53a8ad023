"""The SQLite connections every storage module goes through.

WAL with `synchronous=NORMAL`: a committed transaction survives a crash of the
process (not a power loss of the machine, which may roll back the last commits).

Writes have one connection, owned by one thread. Two ways to write:

- `async with db.transaction() as tx:` — statements one by one (one thread hop
  each) under a lock with `BEGIN IMMEDIATE`, so coroutines never interleave
  inside a transaction and a read-then-write never fails on a lock upgrade;
- `await db.write(body)` — the hot paths: `body(tx)` is a coroutine whose `tx`
  calls complete at once, so the whole body runs on the writer thread in one
  hop. Concurrent bodies are grouped into one transaction (group commit), each
  inside its own SAVEPOINT, and each caller is answered only after COMMIT.

Reads use a second connection (aiosqlite), so they only see committed rows.
Caches of rows (tokens, clients, sessions) live here too: an epoch guard keeps
a read that raced a commit from putting stale rows back.
"""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

import aiosqlite

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_size_limit=67108864",
)
MAX_GROUP = 64  # write bodies sharing one COMMIT at most


class StorageUnavailable(Exception):
    """The database cannot take writes now (disk full, read-only file, locked)."""


class EpochCache:
    """A dict of rows, emptied whenever something they came from may have changed."""

    def __init__(self, max_entries: int = 100_000):
        self.epoch, self.max_entries = 0, max_entries
        self._entries: dict = {}

    def get(self, key):
        return self._entries.get(key)

    def fill(self, key, value, epoch: int) -> None:
        """Keep `value` only if nothing was invalidated since the read began."""
        if epoch == self.epoch:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = value

    def drop(self, key) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()


class Database:
    """One writer thread with its connection, and one reader connection."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._reader: aiosqlite.Connection | None = None
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fync-writer")
        self._write_lock = asyncio.Lock()
        self._queue: list[tuple[Callable, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self.caches: dict[str, EpochCache] = {}
        # Set by the plugin host: the hook names someone listens to, and how to tell them.
        self.wanted: frozenset[str] = frozenset()
        self.dispatch = None

    async def open(self) -> "Database":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await self._on_writer(self._connect_writer)
        self._reader = await aiosqlite.connect(str(self.path), isolation_level=None)
        self._reader.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await self._reader.execute(pragma)
        return self

    def _connect_writer(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            conn.execute(pragma)
        return conn

    async def _on_writer(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def close(self) -> None:
        if self._flusher is not None:
            await self._flusher
        if self._reader is not None:
            await self._reader.close()
        if self._conn is not None:
            await self._on_writer(self._conn.close)
        self._thread.shutdown(wait=True)
        self._reader = self._conn = None

    async def checkpoint(self) -> None:
        """Fold the WAL back into the main file (on shutdown and after backups)."""
        async with self._write_lock:
            await self._on_writer(self._conn.execute, "PRAGMA wal_checkpoint(TRUNCATE)")

    def cache(self, name: str) -> EpochCache:
        return self.caches.setdefault(name, EpochCache())

    def invalidate(self) -> None:
        for cache in self.caches.values():
            cache.clear()

    # -- reads -----------------------------------------------------------------
    # execute_fetchall is one hop to the reader's thread; execute + fetch +
    # close would be three, on every request.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._reader.execute_fetchall(sql, tuple(params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    async def fetchval(self, sql: str, params: Iterable[Any] = ()):
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # -- writes, statement by statement ------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Transaction"]:
        """`async with db.transaction() as tx:` — commits on success, rolls back on error.
        Every commit here empties the caches: these writes are rare and may touch anything."""
        async with self._write_lock:
            tx = Transaction(self, threaded=True)
            await self._guarded(self._on_writer(self._conn.execute, "BEGIN IMMEDIATE"))
            try:
                yield tx
                await self._guarded(self._on_writer(self._conn.execute, "COMMIT"))
            except BaseException:
                await self._on_writer(self._rollback)
                raise
        self.invalidate()
        self._after_commit(tx)

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    @staticmethod
    async def _guarded(awaitable):
        try:
            return await awaitable
        except sqlite3.OperationalError as exc:
            if _is_storage_fault(exc):
                raise StorageUnavailable(str(exc)) from exc
            raise

    def _after_commit(self, tx: "Transaction") -> None:
        if tx.invalidates:
            self.invalidate()
        for notification in tx.notifications:
            self.dispatch(notification)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One write statement in its own transaction; returns the rows changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def run_script(self, script: str) -> None:
        """Run a multi-statement script under the write lock (migrations)."""
        async with self._write_lock:
            try:
                await self._on_writer(self._conn.executescript, script)
            except BaseException:
                await self._on_writer(self._rollback)
                raise
        self.invalidate()

    async def backup_to(self, target: Path) -> None:
        """A consistent online copy through SQLite's backup API."""
        async with aiosqlite.connect(str(target)) as dest:
            await self._reader.backup(dest)

    # -- writes in one hop, grouped ------------------------------------------------
    async def write(self, body: Callable[["Transaction"], Awaitable[Any]]):
        """Run `body(tx)` on the writer thread inside a group commit → its result."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append((body, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            async with self._write_lock:
                try:
                    outcomes = await self._guarded(self._on_writer(self._run_group, batch))
                except BaseException as exc:
                    outcomes = [(None, exc, None)] * len(batch)
            for (_, future), (result, error, tx) in zip(batch, outcomes):
                if tx is not None:
                    self._after_commit(tx)
                if future.done():
                    continue
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)

    def _run_group(self, batch) -> list[tuple]:
        """On the writer thread: BEGIN, each body in a SAVEPOINT, COMMIT."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        outcomes = []
        try:
            for body, _ in batch:
                outcomes.append(self._run_one(conn, body))
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return outcomes

    def _run_one(self, conn: sqlite3.Connection, body) -> tuple:
        tx = Transaction(self, threaded=False)
        conn.execute("SAVEPOINT body")
        try:
            result = _drive(body(tx))
        except Exception as exc:
            conn.execute("ROLLBACK TO body")
            conn.execute("RELEASE body")
            if _is_storage_fault(exc):
                exc = StorageUnavailable(str(exc))
            return None, exc, None
        conn.execute("RELEASE body")
        return result, None, tx


def _drive(coroutine):
    """Run a coroutine whose awaits all complete at once; it must not wait on I/O."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a db.write() body awaited something other than its transaction")


class Transaction:
    """The writer connection inside a transaction or a write body.

    Its methods are coroutines either way, so storage functions serve both: inside
    `transaction()` each statement hops to the writer thread; inside `write()` the
    body already runs there and each statement completes at once.
    """

    def __init__(self, db: Database, threaded: bool):
        self._db, self._threaded = db, threaded
        self._wanted = db.wanted
        self.notifications: list = []
        self.invalidates = False

    async def _run(self, fn, *args):
        if self._threaded:
            return await self._db._guarded(self._db._on_writer(fn, *args))
        return fn(*args)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a write; returns the rows changed."""
        return (await self._run(self._db._conn.execute, sql, tuple(params))).rowcount

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> int:
        """One statement over many rows, in one hop (bulk loads, tests, benchmarks)."""
        return (await self._run(self._db._conn.executemany, sql, [tuple(r) for r in rows])).rowcount

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT and return the new row's id."""
        return (await self._run(self._db._conn.execute, sql, tuple(params))).lastrowid

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return await self._run(_fetchone, self._db._conn, sql, tuple(params))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return await self._run(_fetchall, self._db._conn, sql, tuple(params))

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


def _fetchone(conn: sqlite3.Connection, sql: str, params: tuple) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def _fetchall(conn: sqlite3.Connection, sql: str, params: tuple) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _is_storage_fault(exc: BaseException) -> bool:
    """Disk full, read-only file or lock timeout: the instance should answer 503."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return any(s in text for s in ("full", "readonly", "read-only", "locked", "disk i/o"))
