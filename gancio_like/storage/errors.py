"""What storage raises, the same on SQLite and PostgreSQL: callers (services, handlers,
plugins) never see `sqlite3` or `asyncpg` errors. No internal imports."""


class StorageError(Exception):
    """A database fault that fits no narrower class below (a bad statement, a damaged file)."""


class Conflict(StorageError):
    """A write broke a uniqueness or foreign-key rule: another row got there first,
    or a row it refers to is gone."""


class Unavailable(StorageError):
    """The database cannot serve now (disk full, read-only file, locked, connection
    lost or refused): nothing was changed; try again later."""


class Contended(Unavailable):
    """PostgreSQL aborted a transaction to break a deadlock (or on a serialization
    failure): nothing of it was changed; the write contract runs its bodies again."""
