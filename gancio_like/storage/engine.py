"""Which database an instance uses: SQLite (the default) or PostgreSQL, by `[database] url`."""
from __future__ import annotations

from ..config import Config
from .db import Database
from .pg import PgDatabase, is_postgres_url, redact


def database_for(cfg: Config) -> Database | PgDatabase:
    """The (not yet opened) database `cfg` names."""
    if is_postgres_url(cfg.database.url):
        return PgDatabase(cfg.database.url)
    return Database(cfg.database_path)


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
