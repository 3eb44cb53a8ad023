"""`fync db copy`: move an instance from its SQLite file to an empty PostgreSQL database.

The source is read in one read transaction on one read-only connection: in WAL mode
(Fync's) that is one snapshot of every table, taken without blocking the running
instance's writers, so the copy is consistent even while it serves. (Writes made
after the snapshot are not copied: stop the instance first for the real move.)

The target is written in one PostgreSQL transaction — the PostgreSQL migrations,
every row, the identity sequences, the row-count check — so a failure anywhere
leaves it as empty as it was, and the command can simply be run again.
"""
from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import migrate
from .errors import StorageError, Unavailable
from .migrate import Migration, MigrationError
from .pg import PgDatabase, PgTransaction, is_postgres_url, redact

BATCH = 500  # rows per executemany: few round trips, bounded memory
NOT_COPIED = {"schema_migrations"}  # the target's own migration run writes it, with its own checksums


class CopyError(Exception):
    """The copy cannot be done or did not complete; the message says why and what to do."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def quote(name: str) -> str:
    """An identifier, quoted for both engines (table names come from the file)."""
    return '"' + name.replace('"', '""') + '"'


async def copy_to_postgres(source: Path, url: str, sqlite_migrations: list[Migration],
                           pg_migrations: list[Migration], batch: int = BATCH) -> list[Copied]:
    """Copy every table of the SQLite file at `source` into the empty database at `url`.

    `sqlite_migrations` are what the source must already have applied (core and the
    enabled plugins); `pg_migrations` are the same in PostgreSQL's dialect, applied to
    the target before the rows. Returns the rows copied per table, in copy order.
    """
    if not is_postgres_url(url):
        raise CopyError(f"the target must be a postgresql:// URL, not {redact(url)!r}")
    source = Path(source)
    if not source.is_file():
        raise CopyError(f"no SQLite database at {source}; nothing to copy")
    try:
        snapshot = Snapshot(source)
        try:
            snapshot.check_migrations(sqlite_migrations)
            tables = snapshot.tables()
            target = await _connect(url)
            try:
                return await _copy(snapshot, tables, target, pg_migrations, batch)
            finally:
                await target.close()
        finally:
            snapshot.close()
    except sqlite3.Error as exc:
        raise CopyError(f"reading {source}: {exc}") from exc


async def _connect(url: str) -> PgDatabase:
    try:
        return await PgDatabase(url, pool_size=1).open(read_only=True)
    except Unavailable as exc:
        raise CopyError(str(exc).replace(url, redact(url))) from exc
    except ValueError as exc:  # asyncpg's word for a URL it cannot parse
        raise CopyError(f"{redact(url)} is not a PostgreSQL URL asyncpg can use ({exc})") from exc
    except Exception as exc:  # anything else that stops the first connection
        raise CopyError(f"cannot connect to {redact(url)}: {str(exc).replace(url, redact(url))}") from exc


async def _copy(snapshot: "Snapshot", tables: list[str], target: PgDatabase,
                pg_migrations: list[Migration], batch: int) -> list[Copied]:
    """Everything written to the target, in its one transaction."""
    try:
        async with target.transaction() as tx:
            await _refuse_unless_empty(tx)
            try:
                await migrate.apply(_InTransaction(tx), pg_migrations)
            except MigrationError as exc:
                raise CopyError(f"applying the PostgreSQL migrations: {exc}") from exc
            columns = await _target_columns(tx)
            _check_counterparts(snapshot, tables, columns, {"core"} | {m.owner for m in pg_migrations})
            copied = [await _copy_table(snapshot, tx, table, columns[table], batch) for table in tables]
            await _reset_sequences(tx)
            await _verify(tx, snapshot, copied)
            return copied
    except CopyError as exc:
        raise CopyError(f"{exc}; the target database was left unchanged") from exc
    except (sqlite3.Error, StorageError) as exc:  # the snapshot's faults, and the target's
        raise CopyError(f"{exc}; the target database was left unchanged") from exc


class Snapshot:
    """The source file, read-only, held in one read transaction from the first read on."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.execute("BEGIN")  # the snapshot is taken at the first SELECT below and kept until close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")
        self.conn.close()

    def applied(self) -> dict[tuple[str, str], str]:
        if not self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone():
            return {}
        return {(owner, name): checksum for owner, name, checksum
                in self.conn.execute("SELECT owner, name, checksum FROM schema_migrations")}

    def check_migrations(self, migrations: list[Migration]) -> None:
        """The source must be exactly what this version's SQLite migrations make it."""
        applied = self.applied()
        todo = [m for m in migrations if applied.get((m.owner, m.name)) != m.checksum]
        if todo:
            names = ", ".join(f"{m.owner} {m.name}" for m in todo[:5]) + (" …" if len(todo) > 5 else "")
            raise CopyError(f"{self.path} has {len(todo)} pending migration(s) ({names}); "
                            "run `fync migrate` first")
        known = {(m.owner, m.name) for m in migrations}
        owners = {owner for owner, _ in known}
        newer = sorted(f"{owner} {name}" for owner, name in applied if owner in owners and (owner, name) not in known)
        if newer:
            raise CopyError(f"{self.path} was migrated by a newer Fync ({', '.join(newer)}); "
                            "copy it with that version")

    def stray_owners(self, migrations_owners: set[str]) -> list[str]:
        """Who migrated this file besides core and the enabled plugins: plugins now disabled."""
        return sorted({owner for owner, _ in self.applied()} - migrations_owners)

    def tables(self) -> list[str]:
        """The file's tables to copy, each after every table it references (PRAGMA foreign_key_list)."""
        skipped = {name for name, kind in self.conn.execute("SELECT name, type FROM pragma_table_list "
                                                             "WHERE schema = 'main'")
                   if kind in ("virtual", "shadow")}  # SQLite's own search indexes: PostgreSQL builds its own
        names = [name for (name,) in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' "
            "ORDER BY name")
            if name not in NOT_COPIED and name not in skipped]
        refers = {name: {row[2] for row in self.conn.execute(f"PRAGMA foreign_key_list({quote(name)})")}
                  for name in names}
        return foreign_key_order(refers)

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.conn.execute(f"PRAGMA table_info({quote(table)})")]

    def count(self, table: str) -> int:
        return self.conn.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0]

    def rows(self, table: str, columns: list[str], batch: int):
        """The table's rows, `batch` at a time."""
        cursor = self.conn.execute(f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)}")
        while rows := cursor.fetchmany(batch):
            yield rows


def foreign_key_order(refers: dict[str, set[str]]) -> list[str]:
    """Tables ordered so each comes after those it references (self-references and
    tables outside the copy aside); alphabetical among equals, so runs repeat."""
    waiting = {name: {r for r in refs if r in refers and r != name} for name, refs in refers.items()}
    order: list[str] = []
    while waiting:
        ready = sorted(name for name, refs in waiting.items() if not refs)
        if not ready:
            raise CopyError(f"the foreign keys of tables {', '.join(sorted(waiting))} form a cycle; "
                            "no order copies them one table at a time")
        for name in ready:
            order.append(name)
            del waiting[name]
        for refs in waiting.values():
            refs.difference_update(ready)
    return order


class _InTransaction:
    """What migrate.apply needs of a database, inside the copy's transaction: its
    migrations commit (or roll back) with the rows, not one by one."""

    dialect = "postgresql"

    def __init__(self, tx: PgTransaction):
        self.tx = tx

    async def run_script(self, script: str) -> None:
        await self.tx.execute(script)

    async def fetchall(self, sql: str, params=()) -> list:
        return await self.tx.fetchall(sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self):
        yield self.tx


async def _refuse_unless_empty(tx: PgTransaction) -> None:
    """Copy only into nothing: no tables where ours would go (the first schema of the search path)."""
    schema = await tx.fetchval("SELECT current_schema()")
    if schema is None:
        raise CopyError("the target database has no schema to create tables in (check its search_path)")
    found = [r[0] for r in await tx.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name")]
    if found:
        listed = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
        raise CopyError(f"the target database is not empty: schema {schema} has table(s) {listed}; "
                        "copy into a new empty database (createdb), or drop what is there first")


async def _target_columns(tx: PgTransaction) -> dict[str, dict[str, str]]:
    """{table: {column: PostgreSQL type}} of the migrated target."""
    found: dict[str, dict[str, str]] = {}
    for table, column, kind in await tx.fetchall(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema()"):
        found.setdefault(table, {})[column] = kind
    return found


def _check_counterparts(snapshot: Snapshot, tables: list[str], target: dict[str, dict[str, str]],
                        owners: set[str]) -> None:
    """Every table and column of the file must exist in the target, or its rows would be lost.
    `owners`: core and the enabled plugins, whose migrations made the target."""
    missing = [t for t in tables if t not in target]
    if missing:
        owners = snapshot.stray_owners(owners)
        if owners:
            where = (f"they were made by plugin(s) {', '.join(owners)}, not enabled in this config; enable "
                     f"{'it' if len(owners) == 1 else 'them'} in [plugins] enabled and copy again, or drop "
                     "those tables from the file if their data is not wanted")
        else:
            where = "no migration of core or an enabled plugin makes them; drop them from the file, or enable the plugin that does"
        raise CopyError(f"table(s) {', '.join(missing)} of the SQLite file have no counterpart in the target: {where}")
    for table in tables:
        extra = [c for c in snapshot.columns(table) if c not in target[table]]
        if extra:
            raise CopyError(f"column(s) {', '.join(extra)} of table {table} have no counterpart in the "
                            "target's schema; the PostgreSQL migrations lack them")


async def _copy_table(snapshot: Snapshot, tx: PgTransaction, table: str, types: dict[str, str],
                      batch: int) -> Copied:
    columns = snapshot.columns(table)
    convert = [_converter(table, c, types[c]) for c in columns]
    insert = (f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) OVERRIDING SYSTEM VALUE "
              f"VALUES ({', '.join('?' * len(columns))})")
    done = 0
    for rows in snapshot.rows(table, columns, batch):
        values = [tuple(fix(value) for fix, value in zip(convert, row)) for row in rows]
        try:
            await tx.executemany(insert, values)
        except StorageError as exc:
            raise CopyError(f"copying table {table}: {exc}") from exc
        done += len(values)
    return Copied(table, done)


def _converter(table: str, column: str, pg_type: str) -> Callable:
    """SQLite stores what it is given; PostgreSQL (and asyncpg) want the column's type.
    A value that cannot be said in it stops the copy, naming where it is."""
    def bad(value, why: str = ""):
        shown = repr(value if not isinstance(value, (str, bytes)) or len(value) <= 40 else value[:40])
        raise CopyError(f"table {table}, column {column}: the value {shown} does not fit PostgreSQL's "
                        f"{pg_type}{why}; fix it in the SQLite file and copy again")

    def integer(value):
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        bad(value)

    def text(value):
        if isinstance(value, (int, float)):
            value = str(value)
        elif isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                bad(value, " (bytes that are not UTF-8)")
        if value is not None and "\x00" in value:
            bad(value, " (PostgreSQL text cannot hold a NUL character)")
        return value

    def blob(value):
        return value.encode("utf-8") if isinstance(value, str) else value

    def number(value):
        if value is None or isinstance(value, (int, float)):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            bad(value)

    if pg_type in ("bigint", "integer", "smallint"):
        return integer
    if pg_type in ("text", "character varying", "character"):
        return text
    if pg_type == "bytea":
        return blob
    if pg_type in ("double precision", "real", "numeric"):
        return number
    if pg_type == "boolean":
        return lambda value: value if value is None else bool(value)
    return lambda value: value


async def _reset_sequences(tx: PgTransaction) -> None:
    """Each identity (or serial) column's sequence continues after the highest copied id,
    so the next row the instance inserts does not collide with a copied one."""
    for table, column in await tx.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"):
        await tx.fetchval(f"SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max({quote(column)}), 0) + 1, false) "
                          f"FROM {quote(table)}", (quote(table), column))


async def _verify(tx: PgTransaction, snapshot: Snapshot, copied: list[Copied]) -> None:
    """Before COMMIT: each table holds as many rows as the snapshot's."""
    for item in copied:
        source = snapshot.count(item.table)
        target = await tx.fetchval(f"SELECT count(*) FROM {quote(item.table)}")
        if not source == item.rows == target:
            raise CopyError(f"table {item.table}: {source} row(s) in the SQLite file, {item.rows} read, "
                            f"{target} in the target")
