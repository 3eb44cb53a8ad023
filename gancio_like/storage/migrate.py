"""Forward-only SQL migrations, tracked per owner ("core" or a plugin's name).

A migration is a file `NNNN_name.sql`. Each is applied once, in order, inside one
transaction together with its bookkeeping row, and recorded with a SHA-256 of its
text: a file edited after it was applied is refused at startup, because the
database would no longer match what the code was written against.
"""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .db import Database

CORE_MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"
FILENAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

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

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def read_folder(owner: str, folder: Path) -> list[Migration]:
    """The migrations in a folder, in order; a stray .sql name is an error."""
    found = []
    for path in sorted(Path(folder).glob("*.sql")):
        if not FILENAME.match(path.name):
            raise MigrationError(f"{owner}: migration file {path} must be named NNNN_name.sql")
        found.append(Migration(owner, path.name, path.read_text(encoding="utf-8")))
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
    """Apply every pending migration, each in its own transaction."""
    todo = await pending(db, migrations)
    for m in todo:
        record = ("INSERT INTO schema_migrations (owner, name, checksum, applied_at) "
                  f"VALUES ({_quote(m.owner)}, {_quote(m.name)}, {_quote(m.checksum)}, {int(time.time())});")
        try:
            await db.run_script(f"BEGIN IMMEDIATE;\n{m.sql}\n;{record}\nCOMMIT;")
        except Exception as exc:
            raise MigrationError(f"{m.owner} migration {m.name} failed: {exc}") from exc
    return todo


def _quote(text: str) -> str:
    """SQL string literal; names here come from our own file names, checked above."""
    return "'" + text.replace("'", "''") + "'"
