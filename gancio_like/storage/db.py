"""The SQLite engine every storage module goes through (PostgreSQL: pg.py; what both
share, including the write contract: store.py).

WAL with `synchronous=NORMAL`: a committed transaction survives a crash of the
process (not a power loss of the machine, which may roll back the last commits).

Writes run on the event loop itself, on one connection: a small write takes
tens of microseconds, less than handing it to a thread and back, and one
process serves one core anyway. What could stall the loop — folding the WAL
into the database, which fsyncs — is switched off on that connection and done
by a background thread on a connection of its own (`_fold_wal`). A write
transaction starts with `BEGIN IMMEDIATE` under the store's write lock, so
coroutines never interleave inside one and a read-then-write never fails on a
lock upgrade.

Reads use a second connection (aiosqlite, on its own thread), so they only see
committed rows.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable

import aiosqlite

from .errors import Conflict, StorageError, Unavailable
from .store import EpochCache, Listeners, Store, Transaction

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_size_limit=67108864",
)
WAL_FOLD_BYTES = 4 * 1024 * 1024  # fold the WAL back once it is this big
WAL_CHECK_SECONDS = 1.0


class Database(Store):
    """The writer connection (used on the loop), a reader connection, and a thread
    for the slow chores (folding the WAL, backups)."""

    dialect = "sqlite"
    BEGIN = ("BEGIN IMMEDIATE",)  # take the write lock now: no lock upgrade can fail later

    def __init__(self, path: Path, listeners: Listeners | None = None):
        super().__init__(listeners)
        self.path = Path(path)
        self._reader: aiosqlite.Connection | None = None
        self._conn: sqlite3.Connection | None = None
        self._chores = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fync-db-chores")
        self._folder: asyncio.Task | None = None
        self._data_version = None  # of the last look at other connections' commits

    async def open(self, read_only: bool = False) -> "Database":
        """Open for serving; `read_only` for tools that only look (doctor, stats): no
        writer, no file created, nothing changed — SQLite's `mode=ro`."""
        try:
            return await self._open(read_only)
        except sqlite3.Error as exc:
            raise _storage_error(exc) from exc

    async def _open(self, read_only: bool) -> "Database":
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

    async def close(self) -> None:
        await self._drain()
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
            self._guarded(self._conn.execute, "PRAGMA wal_checkpoint(TRUNCATE)")

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
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            return list(await self._reader.execute_fetchall(sql, tuple(params)))
        except sqlite3.Error as exc:
            raise _storage_error(exc) from exc

    # -- writes: the write contract is Store's; these are SQLite's parts of it ----------
    async def _ready_writer(self, lane) -> None:
        """SQLite opens a file it cannot write read-only, and such a connection stays
        read-only after the file is fixed: after such a fault, a fresh connection."""
        if self._read_only:
            self._conn.close()
            self._connect_writer()

    def _transaction(self, lane) -> "SqliteTransaction":
        return SqliteTransaction(self)

    async def _control(self, lane, *statements: str) -> None:
        for statement in statements:
            self._guarded(self._conn.execute, statement)

    async def _abort(self, lane) -> None:
        self._rollback()

    def _guarded(self, fn, *args):
        """Call `fn` on the writer connection, raising storage's errors for sqlite3's;
        after a read-only fault, the next write reconnects (`_ready_writer`)."""
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            error = _storage_error(exc)
            if isinstance(error, Unavailable) and "readonly" in str(exc).replace("-", "").lower():
                self._read_only = True
            raise error from exc

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    async def run_script(self, script: str) -> None:
        """Run a multi-statement script under the write lock (migrations)."""
        async with self._write_lock:
            try:
                self._guarded(self._conn.executescript, script)
            except BaseException:
                self._rollback()
                raise
        self.invalidate()

    async def backup_to(self, target: Path) -> None:
        """A consistent online copy through SQLite's backup API."""
        try:
            async with aiosqlite.connect(str(target)) as dest:
                await self._reader.backup(dest)
        except sqlite3.Error as exc:
            raise _storage_error(exc) from exc


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


class SqliteTransaction(Transaction):
    """The writer connection inside a write transaction. Its methods are coroutines,
    as PostgreSQL's are, but each statement completes at once."""

    def __init__(self, db: Database):
        super().__init__(db)
        self._conn, self._guarded = db._conn, db._guarded

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a write; returns the rows changed."""
        return self._guarded(self._conn.execute, sql, tuple(params)).rowcount

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> int:
        """One statement over many rows, in one hop (bulk loads, tests, benchmarks)."""
        return self._guarded(self._conn.executemany, sql, [tuple(r) for r in rows]).rowcount

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT and return the new row's id."""
        return self._guarded(self._conn.execute, sql, tuple(params)).lastrowid

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return self._guarded(_fetchone, self._conn, sql, tuple(params))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self._guarded(_fetchall, self._conn, sql, tuple(params))


def _fetchone(conn: sqlite3.Connection, sql: str, params: tuple) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def _fetchall(conn: sqlite3.Connection, sql: str, params: tuple) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _storage_error(exc: sqlite3.Error) -> StorageError:
    """sqlite3's error → storage's own: a broken rule, a fault worth retrying later
    (disk full, read-only file, lock timeout, a file it cannot open), or another fault."""
    if isinstance(exc, sqlite3.IntegrityError):
        return Conflict(str(exc))
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError) and any(
            s in text for s in ("full", "readonly", "read-only", "locked", "disk i/o", "unable to open")):
        return Unavailable(str(exc))
    return StorageError(str(exc))
