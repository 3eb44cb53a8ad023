"""The instance's database: `fync backup` and `restore`, `fync db copy` (moving to PostgreSQL,
docs/deploy.md), and `migrated()`, the database the account and app commands open too."""
from __future__ import annotations

import contextlib
import json
import os
from argparse import ArgumentParser
from pathlib import Path

from ..app import open_instance
from ..config import Config
from ..plugin_host import PluginHost
from ..services import ops
from ..storage.copy import CopyError, copy_to_postgres
from ..storage.engine import database_for, describe, is_postgres
from ..storage.pg import redact
from ..storage.restore import RestoreError, restore
from ..storage.stats import list_applied_migrations
from . import CommandError, config_args, version_arg


@contextlib.asynccontextmanager
async def migrated(cfg: Config):
    """The instance's database, migrated (plugins' too), closed when the command ends."""
    db, _ = await open_instance(cfg)
    try:
        yield db
    finally:
        await db.close()


def refuse_on_postgres(cfg: Config, what: str, instead: str) -> None:
    if is_postgres(cfg):
        raise CommandError(f"{what} works on SQLite files; this instance uses {describe(cfg)}: {instead}")


def backup_parser(p: ArgumentParser) -> None:
    p.description = "Write a consistent copy of the database (SQLite backup API), safe while serving."
    config_args(p)
    p.add_argument("file", type=Path)
    p.set_defaults(run=backup)


async def backup(cfg: Config, args) -> int:
    refuse_on_postgres(cfg, "fync backup", "use pg_dump (see docs/deploy.md)")
    if args.file.exists():
        raise CommandError(f"{args.file} exists; choose a new file name")
    if not args.file.parent.is_dir():
        raise CommandError(f"folder {args.file.parent} does not exist; create it first")
    # Private from its first byte, whatever the umask: a backup holds password hashes.
    os.close(os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        async with migrated(cfg) as db:
            await db.backup_to(args.file)
    except BaseException:
        args.file.unlink(missing_ok=True)
        raise
    print(f"backed up {cfg.database_path} to {args.file}")
    return 0


def restore_parser(p: ArgumentParser) -> None:
    p.description = ("Replace the database with a backup from `fync backup`. Checks the backup's integrity "
                     "first, refuses while an instance has the database open, and keeps the previous "
                     "database beside it as fync.db.before-restore-TIME.")
    config_args(p)
    p.add_argument("file", type=Path)
    p.set_defaults(run=restore_backup)


async def restore_backup(cfg: Config, args) -> int:
    refuse_on_postgres(cfg, "fync restore", "use pg_restore or psql (see docs/deploy.md)")
    try:
        kept = restore(args.file, cfg.database_path)
    except RestoreError as exc:
        raise CommandError(str(exc)) from None
    print(f"restored {args.file} to {cfg.database_path}")
    if kept is not None:
        print(f"the previous database is kept as {kept}")
    pending = await pending_after_restore(cfg)
    if pending:
        print(f"{len(pending)} migration(s) pending: run `fync migrate`, or start fync (it migrates)")
    return 0


async def pending_after_restore(cfg: Config) -> list:
    """The migrations this version would apply, read without applying or writing anything."""
    db = await database_for(cfg).open(read_only=True)
    try:
        return ops.pending_migrations(await list_applied_migrations(db), PluginHost.load(cfg).migrations(db.dialect))
    finally:
        await db.close()


def db_parser(p: ArgumentParser) -> None:
    p.description = "Move the instance's database."
    version_arg(p)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser(
        "copy", help="copy the SQLite database into an empty PostgreSQL database",
        description="Copy every table (core and plugins) of the instance's SQLite database into an empty "
                    "PostgreSQL database: applies the PostgreSQL migrations, copies the rows in one "
                    "transaction, resets the id sequences and checks the row counts. Reads one consistent "
                    "snapshot and writes nothing to the SQLite file; stop the instance first so that no "
                    "later write is left behind. On any error the target is left unchanged.")
    config_args(q)
    q.add_argument("--to", required=True, metavar="URL",
                   help="the empty target database: postgresql://USER:PASSWORD@HOST[:PORT]/NAME")
    q.set_defaults(run=db_copy)


async def db_copy(cfg: Config, args) -> int:
    if is_postgres(cfg):
        raise CommandError(f"the configured database is already PostgreSQL ({describe(cfg)}); "
                           "`fync db copy` copies an instance's SQLite database")
    plugins = PluginHost.load(cfg)
    try:
        copied = await copy_to_postgres(cfg.database_path, args.to, plugins.migrations("sqlite"),
                                        plugins.migrations("postgresql"))
    except CopyError as exc:
        raise CommandError(str(exc)) from None
    target = redact(args.to)
    print(f"copied {cfg.database_path} to {target}")
    for item in copied:
        print(f"  {item.table:<28}{item.rows:>10} row(s)")
    print(f"{sum(i.rows for i in copied)} row(s) in {len(copied)} table(s); row counts match")
    if target != args.to:
        print("put the password back in place of *** (or set FYNC_DATABASE_URL instead)")
    print("to run the instance on it, put this in fync.toml:\n")
    print(f"[database]\nurl = {json.dumps(target)}")
    return 0


PARSERS = {"backup": backup_parser, "restore": restore_parser, "db": db_parser}
