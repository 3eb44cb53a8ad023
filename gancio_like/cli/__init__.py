"""`fync` — the command line (SPEC §1). Every command exits non-zero with a
one-line reason on error, and `--help` works at every level.

One module per group of commands, each command's parser beside the command. A module
is imported only when one of its commands is named, so each imports what it needs at
its top (Tornado for `serve`, asyncpg for `db copy`) and `fync --help` loads none of it.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys

from .. import __version__
from ..config import ConfigError, load_config
from ..errors import FyncError
from ..storage.errors import StorageError
from ..storage.migrate import MigrationError

# Every command in the order `fync --help` lists them: the module that defines it, and its help.
COMMANDS = {
    "serve": ("serve", "migrate if needed, then serve"),
    "migrate": ("migrate", "apply pending migrations"),
    "user": ("users", "manage accounts"),
    "client": ("clients", "moderate registered apps"),
    "plugins": ("plugins", "list discovered plugins"),
    "backup": ("database", "consistent online copy of the database"),
    "restore": ("database", "replace the database with a backup"),
    "stats": ("stats", "count users, clients, tokens and queued deliveries"),
    "doctor": ("doctor", "check the setup and say what to fix"),
    "db": ("database", "move the database to PostgreSQL"),
    "login": ("client_side", "log in to a Fync instance from this terminal"),
    "whoami": ("client_side", "show who you are logged in as"),
    "logout": ("client_side", "log out of an instance"),
}


class CommandError(Exception):
    """A command cannot do what was asked; the message says why and what to do."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(argv).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        # Commands with --config work on this server's instance; the client side needs none.
        cfg = load_config(args.config, overrides=_overrides(args)) if "config" in args else None
        return asyncio.run(args.run(cfg, args)) or 0
    except (ConfigError, MigrationError, CommandError, FyncError, StorageError, OSError) as exc:
        print(f"fync: error: {_describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    """Every command with its help line, and the whole parser of the command `argv` names.
    (`fync` itself has no option that takes a value: the first word is the command.)"""
    parser = argparse.ArgumentParser(prog="fync", description="Fync: a self-hostable community server.")
    version_arg(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    named = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (module, summary) in COMMANDS.items():
        p = commands.add_parser(name, help=summary)
        if name == named:
            importlib.import_module(f"{__name__}.{module}").PARSERS[name](p)
    return parser


def version_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", action="version", version=f"fync {__version__}")


def config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="F", help="config file (default: $FYNC_CONFIG, then ./fync.toml)")
    version_arg(p)


def _overrides(args: argparse.Namespace) -> dict:
    """`fync serve`'s flags, over the config file and FYNC_* variables."""
    keys = ("host", "port", "data_dir", "public_url", "workers")
    return {("server", key): getattr(args, key, None) for key in keys}


def _describe(exc: Exception) -> str:
    if isinstance(exc, FyncError):
        return exc.description
    if isinstance(exc, StorageError):
        return f"database: {exc}"
    return " ".join(str(exc).split())  # one line, whatever the message
