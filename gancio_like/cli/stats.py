"""`fync stats [--json]`: counts for people and monitors, read without writing anything."""
from __future__ import annotations

import json
from argparse import ArgumentParser

from ..config import Config
from ..services import ops
from ..storage.engine import database_for, is_postgres
from . import CommandError, config_args


def stats_parser(p: ArgumentParser) -> None:
    p.description = "Count users, clients, active tokens, sessions and queued federation deliveries."
    config_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts and monitors)")
    p.set_defaults(run=stats)


async def stats(cfg: Config, args) -> int:
    if not is_postgres(cfg) and not cfg.database_path.exists():
        raise CommandError(f"no database at {cfg.database_path}; start fync once or run `fync migrate`")
    db = await database_for(cfg).open(read_only=True)
    try:
        counts = await ops.stats(db)
    finally:
        await db.close()
    if args.json:
        print(json.dumps(counts))
        return 0
    for name, value in counts.items():
        print(f"{name:<24}{value}")
    return 0


PARSERS = {"stats": stats_parser}
