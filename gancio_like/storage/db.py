"""The SQLite connections every storage module goes through.

WAL with `synchronous=NORMAL`: a committed transaction survives a crash of the
process (not a power loss of the machine, which may roll back the last commits).

Writes run on the event loop itself, on one connection: a small write takes
tens of microseconds, less than handing it to a thread and back, and one
process serves one core anyway. What could stall the loop — folding the WAL
into the database, which fsyncs — is switched off on that connection and done
by a background thread on a connection of its own (`_fold_wal`). Two ways to write:

- `async with db.transaction() as tx:` — statements one by one under a lock
  with `BEGIN IMMEDIATE`, so coroutines never interleave inside a transaction
  and a read-then-write never fails on a lock upgrade;
- `await db.write(body)` — the hot paths: `body(tx)` is a coroutine whose `tx`
  calls complete at once. Bodies queued in the same loop iteration are grouped
  into one transaction (group commit), each inside its own SAVEPOINT, and each
  caller is answered only after COMMIT.

Reads use a second connection (aiosqlite, on its own thread), so they only see
committed rows.
Caches of rows (tokens, clients, sessions) live here too: an epoch guard keeps
a read that raced a commit from putting stale rows back.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
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
WAL_FOLD_BYTES = 4 * 1024 * 1024  # fold the WAL back once it is this big
WAL_CHECK_SECONDS = 1.0


class StorageUnavailable(Exception):
    """The database cannot take writes now (disk full, read-only file, locked)."""


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

    def drop(self, key) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()


class Store:
    """What both backends share (SQLite here, PostgreSQL in pg.py): the row caches,
    the group-commit queue, and answering each caller once its group committed.
    A backend supplies `_commit_group(batch)` → one (result, error, tx) per body."""

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

    def _after_commit(self, tx: "Transaction") -> None:
        if tx.invalidates:
            self.invalidate()
        for notification in tx.notifications:
            self.dispatch(notification)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One write statement in its own transaction; returns the rows changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    # -- writes of the hot paths, grouped ---------------------------------------------
    async def write(self, body: Callable[["Transaction"], Awaitable[Any]]):
        """Run `body(tx)` inside a group commit → its result, once committed."""
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
                outcomes = await self._commit_group(batch)
            for (_, future), (result, error, tx) in zip(batch, outcomes):
                if tx is not None:
                    self._after_commit(tx)
                if future.done():
                    continue
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)


class Database(Store):
    """The writer connection (used on the loop), a reader connection, and a thread
    for the slow chores (folding the WAL, backups)."""

    dialect = "sqlite"

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self._reader: aiosqlite.Connection | None = None
        self._conn: sqlite3.Connection | None = None
        self._chores = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fync-db-chores")
        self._folder: asyncio.Task | None = None
        self._data_version = None  # of the last look at other connections' commits

    async def open(self, read_only: bool = False) -> "Database":
        """Open for serving; `read_only` for tools that only look (doctor, stats): no
        writer, no file created, nothing changed — SQLite's `mode=ro`."""
        if read_only:
            self._reader = await aiosqlite.connect(f"file:{self.path}?mode=ro", uri=True)
            self._reader.row_factory = sqlite3.Row
            return self
        # Only the instance's own user may read it: it holds password hashes and keys.
        # SQLite gives the -wal and -shm files the database file's mode.
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._connect_writer()
        self._reader = await aiosqlite.connect(str(self.path), isolation_level=None)
        self._reader.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await self._reader.execute(pragma)
        self._folder = asyncio.ensure_future(self._fold_wal())
        return self

    def _connect_writer(self) -> None:
        self._conn = _connect(self.path)
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # _fold_wal does it, off the loop
        self._read_only = False

    def _note_fault(self, exc: BaseException | None) -> None:
        """SQLite opens a file it cannot write read-only, and such a connection stays
        read-only after the file is fixed: remember to reopen it."""
        if isinstance(exc, StorageUnavailable) and "readonly" in str(exc).replace("-", "").lower():
            self._read_only = True

    def _reopen_if_read_only(self) -> None:
        """Before a write: a fresh connection, if the last one was stuck read-only."""
        if self._read_only:
            self._conn.close()
            self._connect_writer()

    async def close(self) -> None:
        if self._flusher is not None:
            await self._flusher
        if self._folder is not None:
            self._folder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._folder
        if self._reader is not None:
            await self._reader.close()
        if self._conn is not None:
            self._conn.close()
        self._chores.shutdown(wait=True)
        self._reader = self._conn = None

    async def checkpoint(self) -> None:
        """Fold the whole WAL back into the main file and empty it (on shutdown)."""
        async with self._write_lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def _fold_wal(self) -> None:
        """Keep the WAL small from a thread, so no request ever waits on its fsync."""
        wal = Path(f"{self.path}-wal")
        while True:
            await asyncio.sleep(WAL_CHECK_SECONDS)
            with contextlib.suppress(OSError):
                if wal.stat().st_size >= WAL_FOLD_BYTES:
                    await asyncio.get_running_loop().run_in_executor(self._chores, _passive_checkpoint, self.path)

    async def fresh_cache(self, name: str) -> EpochCache:
        """The cache to read rows from, emptied first if another process (a `fync client
        disable` from the shell) committed since the last look: SQLite's data_version
        changes on every commit made through another connection, and reading it on the
        writer connection costs a few microseconds."""
        if self._conn is not None:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                self._data_version = version
                self.invalidate()
        return self.cache(name)

    # -- reads -----------------------------------------------------------------
    # execute_fetchall is one hop to the reader's thread; execute + fetch +
    # close would be three, on every request.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._reader.execute_fetchall(sql, tuple(params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    # -- writes, statement by statement ------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Transaction"]:
        """`async with db.transaction() as tx:` — commits on success, rolls back on error.
        Every commit here empties the caches: these writes are rare and may touch anything."""
        async with self._write_lock:
            self._reopen_if_read_only()
            tx = Transaction(self)
            _guarded(self._conn.execute, "BEGIN IMMEDIATE")
            try:
                yield tx
                _guarded(self._conn.execute, "COMMIT")
            except BaseException as exc:
                self._rollback()
                self._note_fault(exc)
                raise
        self.invalidate()
        self._after_commit(tx)

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    async def run_script(self, script: str) -> None:
        """Run a multi-statement script under the write lock (migrations)."""
        async with self._write_lock:
            try:
                self._conn.executescript(script)
            except BaseException:
                self._rollback()
                raise
        self.invalidate()

    async def backup_to(self, target: Path) -> None:
        """A consistent online copy through SQLite's backup API."""
        async with aiosqlite.connect(str(target)) as dest:
            await self._reader.backup(dest)

    # -- writes of the hot paths, grouped ---------------------------------------------
    async def _commit_group(self, batch) -> list[tuple]:
        """The batch on the writer connection; a fault fails every body of it."""
        self._reopen_if_read_only()
        try:
            outcomes = _guarded(self._run_group, batch)
        except BaseException as exc:
            outcomes = [(None, exc, None)] * len(batch)
        for _, error, _ in outcomes:
            self._note_fault(error)
        return outcomes

    def _run_group(self, batch) -> list[tuple]:
        """BEGIN, each body in a SAVEPOINT, COMMIT: one transaction for the batch."""
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
        tx = Transaction(self)
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


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


def _passive_checkpoint(path: Path) -> None:
    """On the chores thread, with its own connection: copy WAL frames home."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()


def _guarded(fn, *args):
    """Call a write; disk-full, read-only and lock faults become StorageUnavailable."""
    try:
        return fn(*args)
    except sqlite3.OperationalError as exc:
        if _is_storage_fault(exc):
            raise StorageUnavailable(str(exc)) from exc
        raise


def _drive(coroutine):
    """Run a coroutine whose awaits all complete at once; it must not wait on I/O."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a db.write() body awaited something other than its transaction")


class Transaction:
    """The writer connection inside `transaction()` or a `write()` body.

    Its methods are coroutines so storage functions read the same either way, but
    each statement completes at once: nothing here waits on another task.
    """

    def __init__(self, db: Database):
        self._db = db
        self._wanted = db.wanted
        self.notifications: list = []
        self.invalidates = False

    async def _run(self, fn, *args):
        return _guarded(fn, *args)

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
