"""`fync migrate [--check]`: apply (or list) the pending migrations, core and plugins'."""
from __future__ import annotations

from argparse import ArgumentParser

from ..config import Config
from ..plugin_host import PluginHost
from ..storage import migrate
from ..storage.engine import database_for, describe, dialect
from . import config_args


def migrate_parser(p: ArgumentParser) -> None:
    p.description = "Apply pending migrations (core and plugins)."
    config_args(p)
    p.add_argument("--check", action="store_true", help="apply nothing; exit 1 if any are pending")
    p.set_defaults(run=apply_migrations)


async def apply_migrations(cfg: Config, args) -> int:
    migrations = PluginHost.load(cfg).migrations(dialect(cfg))  # before the database is created
    db = await database_for(cfg).open()
    try:
        if args.check:
            todo = await migrate.pending(db, migrations)
            for m in todo:
                print(f"pending: {m.owner} {m.name}")
            print(f"{len(todo)} pending migration(s)")
            return 1 if todo else 0
        done = await migrate.apply(db, migrations)
        for m in done:
            print(f"applied: {m.owner} {m.name}")
        print(f"{len(done)} migration(s) applied; database {describe(cfg)} is current")
        return 0
    finally:
        await db.close()


PARSERS = {"migrate": migrate_parser}
