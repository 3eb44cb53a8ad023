"""`fync serve`: migrate if needed, then serve, in this one process (SPEC §1).
Several processes are several `fync serve`s: systemd's `fync@PORT` units (docs/deploy.md)."""
from __future__ import annotations

from argparse import SUPPRESS, ArgumentParser

from .. import app
from ..config import Config
from . import config_args


def serve_parser(p: ArgumentParser) -> None:
    p.description = "Migrate if needed, then serve."
    config_args(p)
    p.add_argument("--host", help="address to listen on")
    p.add_argument("--port", type=int, help="port to listen on")
    p.add_argument("--data-dir", metavar="D", help="folder for the database and secret key")
    p.add_argument("--public-url", metavar="U", help="the issuer; base of every absolute URL")
    p.add_argument("--workers", type=int, help=SUPPRESS)  # gone: the config's check says what to do instead
    p.set_defaults(run=serve)


async def serve(cfg: Config, args) -> int:
    await app.serve(cfg)
    return 0


PARSERS = {"serve": serve_parser}
