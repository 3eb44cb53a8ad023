"""The PostgreSQL backend (asyncpg): the same API as `db.Database`, for instances
that outgrow one SQLite file or one process.

Storage modules write one SQL dialect, SQLite's, kept to what both engines
understand; `translate()` rewrites the few spellings that differ (`?` parameters,
`group_concat`, `char`) once per statement text. Errors come out as storage's own
(errors.py), as they do from SQLite, so callers catch one set whatever the engine.

A serialized write transaction first takes one advisory lock, so it runs alone
across all processes, as every write does on SQLite: a read-then-write never races
another process's write, and code written for SQLite stays correct. The hot OAuth
paths (code redemption, refresh rotation, revocation, the remembered-consent
authorize) are row-level instead: they rest on conditions on their own rows, take
no cluster-wide lock, and run on a writer connection of their own, so neither
another process's writes nor this one's serialized ones hold them up (store.py).
Reads run concurrently on a pool.

Row caches stay per process. A commit that must empty them sends a NOTIFY;
every process listens on a connection of its own and empties its caches when one
arrives. Arrival alone would leave a window of a few milliseconds (measured: a
token revoked through one process was still accepted by another 13 times in 300;
bench/README.md), so a cached row is only used after a barrier: a `SELECT 1` on the
listening connection, sent after the request began. PostgreSQL delivers every
notification committed before that query ahead of its answer, so a revocation
that completed anywhere before a request began is seen by it. Requests that
arrive together share one barrier. While the listening connection is down, a
process keeps no cache at all.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
from decimal import Decimal
from typing import Any, Iterable

import asyncpg

from .errors import Conflict, Contended, StorageError, Unavailable
from .store import EpochCache, Lane, Listeners, Store, Transaction

log = logging.getLogger("fync.db")

WRITE_LOCK_KEY = 0x46796E63  # "Fync": the advisory lock every serialized write transaction holds
CHANNEL = "fync_caches_"  # + the schema: instances sharing a database don't empty each other's caches
LISTENER_RETRY_SECONDS = 1.0

_PARAM = re.compile(r"'[^']*'|\?")
_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.I)


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite's spelling → PostgreSQL's: `?` → `$n` (not inside quotes),
    `INSERT OR IGNORE` → `ON CONFLICT DO NOTHING`, `group_concat` → `string_agg`."""
    count = 0

    def number(match: re.Match) -> str:
        nonlocal count
        if match.group(0) != "?":
            return match.group(0)
        count += 1
        return f"${count}"

    out = _PARAM.sub(number, sql)
    if _INSERT_OR_IGNORE.match(out):
        out = _INSERT_OR_IGNORE.sub("INSERT INTO", out, count=1).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    return out.replace("group_concat(", "string_agg(").replace("char(31)", "chr(31)")


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password, for startup lines and errors."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _number(text: str):
    """NUMERIC (what sum() of BIGINT gives) as an int when whole, as SQLite would."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


async def _setup_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", encoder=str, decoder=_number, schema="pg_catalog", format="text")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool connections only read, so a returned one has no session state to undo: skip
    asyncpg's reset query, a round trip on every release."""


def _storage_error(exc: BaseException) -> BaseException:
    """asyncpg's error → storage's own, as the SQLite engine raises for the same fault;
    anything else (a bug in a body, say) stays as it is."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return Conflict(str(exc))
    if isinstance(exc, asyncpg.TransactionRollbackError):  # deadlock, serialization failure
        return Contended(str(exc))
    if isinstance(exc, (asyncpg.InsufficientResourcesError, asyncpg.CannotConnectNowError,
                        asyncpg.ReadOnlySQLTransactionError, asyncpg.ConnectionDoesNotExistError,
                        asyncpg.InterfaceError, OSError, asyncio.TimeoutError)):
        return Unavailable(str(exc) or type(exc).__name__)
    if isinstance(exc, asyncpg.PostgresError):
        return StorageError(str(exc))
    return exc


def _rowcount(status: str) -> int:
    """'UPDATE 3' / 'INSERT 0 1' / 'DELETE 0' → the rows changed."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PgDatabase(Store):
    """A pool for reads, two connections for writes (serialized, row-level), one listening
    connection, and the row caches."""

    dialect = "postgresql"
    BEGIN = ("BEGIN",)
    # Then every serialized write transaction: the lock serializes them across processes.
    SERIALIZE = (f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})",)
    ROW_LANE = True

    def __init__(self, url: str, pool_size: int = 10, listeners: Listeners | None = None):
        super().__init__(listeners)
        self.url, self.pool_size = url, pool_size
        self._pool: asyncpg.Pool | None = None  # reads
        self._listener: asyncpg.Connection | None = None
        self._listening: asyncio.Task | None = None
        self._sender = f"{os.getpid()}:{id(self)}"
        self._channel = CHANNEL
        self._barrier: asyncio.Future | None = None  # the next barrier, not sent yet
        self._barrier_lock = asyncio.Lock()
        self._closed = False

    def __str__(self) -> str:
        return redact(self.url)

    async def open(self, read_only: bool = False) -> "PgDatabase":
        try:
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self.pool_size, init=_setup_connection,
                reset=_keep_session, server_settings={"application_name": "fync"})
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
            raise Unavailable(f"cannot connect to {redact(self.url)}: {exc}") from exc
        self._caching(False)
        schema = await self.fetchval("SELECT current_schema()")
        self._channel = CHANNEL + "".join(c if c.isalnum() else "_" for c in schema or "")
        if not read_only and not await self._listen():
            self._listening = asyncio.ensure_future(self._relisten())
        return self

    async def close(self) -> None:
        self._closed = True
        await self._drain()
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        for lane in (self._serial, self._rowlevel):
            if lane.conn is not None:
                with contextlib.suppress(Exception):
                    await lane.conn.close()
            lane.conn = None
        if self._pool is not None:
            await self._pool.close()
        self._pool = self._listener = None

    async def checkpoint(self) -> None:
        """Nothing to fold: PostgreSQL keeps its own write-ahead log."""

    # -- caches, kept coherent across processes ---------------------------------------
    async def fresh_cache(self, name: str) -> EpochCache:
        """The cache, once every invalidation committed before this call has reached it."""
        if self._listener is not None:
            if self._barrier is None:
                self._barrier = asyncio.get_running_loop().create_future()
                asyncio.ensure_future(self._send_barrier(self._barrier))
            await asyncio.shield(self._barrier)
        return self.cache(name)

    async def _send_barrier(self, done: asyncio.Future) -> None:
        async with self._barrier_lock:  # one query at a time on the listening connection
            self._barrier = None  # callers from now on need a barrier sent after them
            try:
                await self._listener.execute("SELECT 1")
            except Exception:  # the connection is going: the termination listener turns caches off
                self._caching(False)
            done.set_result(None)

    def _caching(self, on: bool) -> None:
        self.invalidate()
        self._caches_on = on
        for cache in self.caches.values():
            cache.enabled = on

    async def _listen(self) -> bool:
        """Connect the listening connection; caches are on only while it is up."""
        try:
            conn = await asyncpg.connect(self.url, server_settings={"application_name": "fync-listen"})
            await conn.add_listener(self._channel, self._on_notify)
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
            log.warning("cache listener not connected (%s); caches are off until it is", exc)
            return False
        conn.add_termination_listener(self._on_listener_lost)
        self._listener = conn
        self._caching(True)
        return True

    def _on_notify(self, _conn, _pid, _channel, sender: str) -> None:
        if sender != self._sender:
            self.invalidate()

    def _on_listener_lost(self, _conn) -> None:
        self._caching(False)
        self._listener = None
        if not self._closed:
            log.warning("cache listener lost; caches are off until it reconnects")
            self._listening = asyncio.ensure_future(self._relisten())

    async def _relisten(self) -> None:
        while not self._closed:
            await asyncio.sleep(LISTENER_RETRY_SECONDS)
            if await self._listen():
                return

    # -- reads ------------------------------------------------------------------------
    async def fetchone(self, sql: str, params: Iterable[Any] = ()):
        try:
            return await self._pool.fetchrow(translate(sql), *params)
        except Exception as exc:
            raise _storage_error(exc) from exc

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list:
        try:
            return await self._pool.fetch(translate(sql), *params)
        except Exception as exc:
            raise _storage_error(exc) from exc

    # -- writes: a connection per lane, one transaction at a time on each, few round trips --
    async def _ready_writer(self, lane: Lane) -> None:
        """The connection a lane writes through (in its turn): made on first use, and again
        after it broke. Not from the pool: no acquire, no reset query."""
        if lane.conn is None or lane.conn.is_closed():
            name = "fync-write" if lane.serialized else "fync-write-rows"
            try:
                lane.conn = await asyncpg.connect(self.url, server_settings={"application_name": name})
                await _setup_connection(lane.conn)
            except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
                raise Unavailable(f"cannot connect to {redact(self.url)}: {exc}") from exc

    def _transaction(self, lane: Lane) -> "PgTransaction":
        return PgTransaction(self, lane.conn)

    async def _control(self, lane: Lane, *statements: str) -> None:
        """All in one round trip (the simple query protocol takes several statements)."""
        await _call(lane.conn.execute, "; ".join(statements))

    def _commit_sql(self, invalidates: bool) -> tuple[str, ...]:
        """COMMIT, after the NOTIFY that other processes act on when it completes."""
        if not invalidates:
            return ("COMMIT",)
        return (f"SELECT pg_notify('{self._channel}', '{self._sender}')", "COMMIT")

    async def _abort(self, lane: Lane) -> None:
        conn = lane.conn
        with contextlib.suppress(Exception):
            if conn is not None and not conn.is_closed() and conn.is_in_transaction():
                await conn.execute("ROLLBACK")

    async def run_script(self, script: str) -> None:
        """Several statements in one go (the migrations' bookkeeping table)."""
        async with self.transaction() as tx:
            await _call(tx.conn.execute, script)

    async def backup_to(self, target) -> None:
        raise Unavailable("`fync backup` copies SQLite files; back up PostgreSQL with pg_dump")


async def _call(fn, *args):
    try:
        return await fn(*args)
    except Exception as exc:
        raise _storage_error(exc) from exc


class PgTransaction(Transaction):
    """A writer connection inside a write transaction; the same methods as SQLite's."""

    ROW_LOCKS = True
    dialect = "postgresql"

    def __init__(self, db: PgDatabase, conn: asyncpg.Connection):
        super().__init__(db)
        self.conn = conn

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        return _rowcount(await _call(self.conn.execute, translate(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> int:
        rows = [tuple(r) for r in rows]
        await _call(self.conn.executemany, translate(sql), rows)
        return len(rows)

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT and return the new row's id."""
        return await _call(self.conn.fetchval, translate(sql) + " RETURNING id", *params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()):
        return await _call(self.conn.fetchrow, translate(sql), *params)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list:
        return await _call(self.conn.fetch, translate(sql), *params)
