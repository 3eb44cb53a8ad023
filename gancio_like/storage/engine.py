"""Which database an instance uses: SQLite (the default) or PostgreSQL, by `[database] url`."""
from __future__ import annotations

from ..config import Config
from .db import Database
from .pg import PgDatabase, is_postgres_url, redact
from .store import Listeners


def database_for(cfg: Config, listeners: Listeners | None = None) -> Database | PgDatabase:
    """The (not yet opened) database `cfg` names; `listeners` hear of what commits (plugins)."""
    if is_postgres_url(cfg.database.url):
        return PgDatabase(cfg.database.url, listeners=listeners)
    return Database(cfg.database_path, listeners)


def describe(cfg: Config) -> str:
    """For startup lines and messages: the file, or the URL without its password."""
    if is_postgres_url(cfg.database.url):
        return redact(cfg.database.url)
    return str(cfg.database_path.resolve())


def is_postgres(cfg: Config) -> bool:
    return is_postgres_url(cfg.database.url)


def dialect(cfg: Config) -> str:
    """"sqlite" or "postgresql": which migration files apply."""
    return "postgresql" if is_postgres(cfg) else "sqlite"
