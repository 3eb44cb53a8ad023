"""The SQLite connection pair every storage module goes through.

WAL with `synchronous=NORMAL`: a committed transaction survives a crash of the
process (not a power loss of the machine, which may roll back the last commits).
Writes go through one connection under an asyncio lock with `BEGIN IMMEDIATE`, so
two coroutines never interleave statements inside one transaction and a
read-then-write never fails on a lock upgrade. Reads use a second connection, so
they only ever see committed rows.
"""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator, Iterable

import aiosqlite

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_size_limit=67108864",
)


class StorageUnavailable(Exception):
    """The database cannot take writes now (disk full, read-only file, locked)."""


class Database:
    """One writer connection (serialised by a lock) and one reader connection."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        # Set by the plugin host: the hook names someone listens to, and how to tell them.
        self.wanted: frozenset[str] = frozenset()
        self.dispatch = None

    async def open(self) -> "Database":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        self._reader = await self._connect()
        return self

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def checkpoint(self) -> None:
        """Fold the WAL back into the main file (on shutdown and after backups)."""
        async with self._write_lock:
            await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reads -----------------------------------------------------------------
    # execute_fetchall is one hop to the connection's thread; execute + fetch +
    # close would be three, on every request.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._reader.execute_fetchall(sql, tuple(params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    async def fetchval(self, sql: str, params: Iterable[Any] = ()):
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # -- writes ----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Transaction"]:
        """`async with db.transaction() as tx:` — commits on success, rolls back on error."""
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StorageUnavailable(str(exc)) from exc
            tx = Transaction(self._writer, self.wanted)
            try:
                yield tx
                await self._writer.execute("COMMIT")
            except BaseException as exc:
                await self._rollback()
                if _is_storage_fault(exc):
                    raise StorageUnavailable(str(exc)) from exc
                raise
        for notification in tx.notifications:
            self.dispatch(notification)

    async def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._writer.in_transaction:
                await self._writer.execute("ROLLBACK")

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One write statement in its own transaction; returns the rows changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def run_script(self, script: str) -> None:
        """Run a multi-statement script under the write lock (migrations)."""
        async with self._write_lock:
            try:
                await self._writer.executescript(script)
            except BaseException:
                await self._rollback()
                raise

    async def backup_to(self, target: Path) -> None:
        """A consistent online copy through SQLite's backup API."""
        async with aiosqlite.connect(str(target)) as dest:
            await self._reader.backup(dest)


class Transaction:
    """The writer connection inside `Database.transaction()`; one thread hop per statement."""

    def __init__(self, conn: aiosqlite.Connection, wanted: frozenset[str] = frozenset()):
        self._conn = conn
        self._wanted = wanted
        self.notifications: list = []

    def listens(self, make) -> bool:
        """Whether any plugin wants this kind of notification (skip the work if not)."""
        return make.hook in self._wanted

    def notify(self, make, **fields) -> None:
        """Queue a notification for after COMMIT; free when no plugin listens to it."""
        if make.hook in self._wanted:
            self.notifications.append(make(**fields))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a write; returns the rows changed."""
        cursor = await self._conn.execute(sql, tuple(params))
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> int:
        """One statement over many rows, in one hop (bulk loads, tests, benchmarks)."""
        cursor = await self._conn.executemany(sql, [tuple(r) for r in rows])
        return cursor.rowcount

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT and return the new row's id."""
        cursor = await self._conn.execute(sql, tuple(params))
        return cursor.lastrowid

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._conn.execute_fetchall(sql, tuple(params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, tuple(params)))

    async def fetchval(self, sql: str, params: Iterable[Any] = ()):
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def _is_storage_fault(exc: BaseException) -> bool:
    """Disk full, read-only file or lock timeout: the instance should answer 503."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return any(s in text for s in ("full", "readonly", "read-only", "locked", "disk i/o"))
