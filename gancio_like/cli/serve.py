"""`fync serve`: migrate if needed, then serve: one process, or several workers (SPEC §1)."""
from __future__ import annotations

import asyncio
from argparse import ArgumentParser

from .. import app
from ..config import Config
from ..workers import serve_workers
from . import config_args


def serve_parser(p: ArgumentParser) -> None:
    p.description = "Migrate if needed, then serve: one process, or several with --workers (PostgreSQL only)."
    config_args(p)
    p.add_argument("--host", help="address to listen on")
    p.add_argument("--port", type=int, help="port to listen on")
    p.add_argument("--data-dir", metavar="D", help="folder for the database and secret key")
    p.add_argument("--public-url", metavar="U", help="the issuer; base of every absolute URL")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes serving on one port (1-64; more than 1 needs [database] url on PostgreSQL)")
    p.set_defaults(run=serve)


def serve(cfg: Config, args) -> int:
    """Not a coroutine: with several workers the parent forks, which must happen before
    any event loop exists."""
    if cfg.server.workers > 1:
        return serve_workers(cfg)
    asyncio.run(app.serve(cfg))
    return 0


PARSERS = {"serve": serve_parser}
