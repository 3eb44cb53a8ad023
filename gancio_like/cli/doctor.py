"""`fync doctor`: check the setup and say what to fix (docs/deploy.md)."""
from __future__ import annotations

import logging
import os
from argparse import ArgumentParser
from pathlib import Path

from ..config import Config
from ..plugin_host import PluginHost
from ..services import doctor
from ..storage.engine import dialect
from ..storage.migrate import MigrationError
from . import config_args


def doctor_parser(p: ArgumentParser) -> None:
    p.description = ("Check the config, public_url (scheme, and reachability from this box), the data folder's "
                     "permissions, pending migrations and the clock; say what to fix. Exits 1 if a check fails.")
    config_args(p)
    p.add_argument("--offline", action="store_true", help="skip the checks that use the network")
    p.add_argument("--time-url", metavar="URL",
                   help="an HTTPS server whose Date header the clock is compared with (default: a Debian mirror)")
    p.set_defaults(run=check)


async def check(cfg: Config, args) -> int:
    config_file = args.config or os.environ.get("FYNC_CONFIG") or ("fync.toml" if Path("fync.toml").exists() else None)
    logging.getLogger("tornado.general").setLevel(logging.ERROR)  # a failed fetch is a check's verdict
    try:
        migrations = PluginHost.load(cfg).migrations(dialect(cfg))
    except MigrationError as exc:  # no core migrations: a failed check among the others
        migrations = exc
    checks = await doctor.run(cfg, config_file, migrations, args.offline, args.time_url or doctor.TIME_URL)
    for c in checks:
        print(f"{c.status if c.status == 'ok' else c.status.upper():<6}{c.name:<17}{c.detail}")
        if c.fix:
            print(f"{'':23}fix: {c.fix}")
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    print(f"{failed} problem(s), {warned} warning(s)" if failed or warned else "all good")
    return 1 if failed else 0


PARSERS = {"doctor": doctor_parser}
