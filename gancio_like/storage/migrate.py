"""Forward-only SQL migrations, tracked per owner ("core" or a plugin's name).

A migration is a file `NNNN_name.sql`. Each is applied once, in order, inside one
transaction together with its bookkeeping row, and recorded with a SHA-256 of its
text: a file edited after it was applied is refused at startup, because the
database would no longer match what the code was written against. A file that
begins, commits or rolls back a transaction itself, or ends inside a comment or a
string, is refused before anything runs: it could otherwise leave half its changes
committed without the bookkeeping row, and the instance unable to start again.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .db import Database
from .errors import StorageError

CORE_PACKAGE = "gancio_like.migrations"  # the repository's migrations/ folder, installed (setup.cfg)
FILENAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
# Fync runs each migration in its own transaction; a file must not end or nest it.
TRANSACTION_CONTROL = re.compile(r"(BEGIN|COMMIT|END|ROLLBACK)\b(?!\s+TO\b)", re.I)

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (owner, name)
)"""


class MigrationError(Exception):
    """A migration folder or the database's history is not as expected."""


@dataclass(frozen=True)
class Migration:
    owner: str
    name: str
    sql: str

    @functools.cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def read_folder(owner: str, folder: Path, dialect: str = "sqlite") -> list[Migration]:
    """The migrations in a folder, in order; a stray .sql name is an error.

    A file is written for both engines where it can be; where PostgreSQL needs other
    SQL (types, identity columns), `postgresql/NNNN_name.sql` beside it replaces it there.
    """
    own = Path(folder, dialect)
    if own.is_dir():
        for path in own.glob("*.sql"):
            if not Path(folder, path.name).is_file():
                raise MigrationError(f"{owner}: {path} replaces no migration; add {folder}/{path.name} too")
    found, numbers = [], {}
    for path in sorted(Path(folder).glob("*.sql")):
        match = FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{owner}: migration file {path} must be named NNNN_name.sql")
        if match.group(1) in numbers:
            raise MigrationError(f"{owner}: migrations {numbers[match.group(1)]} and {path.name} "
                                 f"share the number {match.group(1)}; renumber one")
        numbers[match.group(1)] = path.name
        chosen = own / path.name
        text = (chosen if chosen.is_file() else path).read_text(encoding="utf-8")
        found.append(Migration(owner, path.name, text))
    return found


def core_folder() -> Path:
    """Where this installation keeps the core migrations: found through the package,
    so an installed copy and an editable checkout alike find their own files."""
    try:
        return Path(next(iter(importlib.import_module(CORE_PACKAGE).__path__)))
    except ModuleNotFoundError:
        raise MigrationError(f"no core migrations: package {CORE_PACKAGE} is not installed; "
                             "this installation of fync is incomplete, reinstall it") from None


def read_core(dialect: str = "sqlite") -> list[Migration]:
    """The core migrations; none found is an error, never an empty schema served as current."""
    folder = core_folder()
    found = read_folder("core", folder, dialect)
    if not found:
        raise MigrationError(f"no core migrations in {folder}: this installation of fync is "
                             "incomplete (a package built without its data files?); reinstall it")
    return found


def statements(m: Migration) -> list[str]:
    """The file's SQL statements, one by one; refuses what would escape the transaction."""
    found, buf = [], ""
    for char in m.sql:
        buf += char
        if char == ";" and sqlite3.complete_statement(buf):
            found.append(buf)
            buf = ""
    if buf.strip():
        if not sqlite3.complete_statement(buf + "\n;"):
            raise MigrationError(f"{m.owner} migration {m.name} ends inside a comment or string")
        found.append(buf)
    for sql in found:
        if TRANSACTION_CONTROL.match(LEADING_COMMENTS.sub("", sql, count=1)):
            raise MigrationError(f"{m.owner} migration {m.name} must not begin, commit or roll back "
                                 "a transaction itself: each file already runs in one")
    return found


async def applied(db: Database) -> dict[tuple[str, str], str]:
    await db.run_script(BOOKKEEPING)
    rows = await db.fetchall("SELECT owner, name, checksum FROM schema_migrations")
    return {(r["owner"], r["name"]): r["checksum"] for r in rows}


async def pending(db: Database, migrations: list[Migration]) -> list[Migration]:
    """Migrations not yet applied; raises if an applied one was edited."""
    done = await applied(db)
    todo = []
    for m in migrations:
        checksum = done.get((m.owner, m.name))
        if checksum is None:
            todo.append(m)
        elif checksum != m.checksum:
            raise MigrationError(
                f"{m.owner} migration {m.name} was edited after it was applied; "
                "restore the original file and add a new migration instead")
    return todo


async def apply(db: Database, migrations: list[Migration]) -> list[Migration]:
    """Apply every pending migration, each in one transaction with its bookkeeping row."""
    done = []
    for m in await pending(db, migrations):
        sql = statements(m)
        try:
            async with db.transaction() as tx:
                # Another process starting at the same time may have applied it meanwhile
                # (the transaction holds the write lock, so this answer stays true).
                if await tx.fetchval("SELECT 1 FROM schema_migrations WHERE owner = ? AND name = ?",
                                     (m.owner, m.name)):
                    continue
                for statement in sql:
                    await tx.execute(statement)
                await tx.execute("INSERT INTO schema_migrations (owner, name, checksum, applied_at) "
                                 "VALUES (?, ?, ?, ?)", (m.owner, m.name, m.checksum, int(time.time())))
            done.append(m)
        except StorageError as exc:
            raise MigrationError(f"{m.owner} migration {m.name} failed: {exc}") from exc
    return done
