"""`fync restore FILE`: put a backup (from `fync backup`) in place of the database.

Nothing is replaced until the backup has passed `PRAGMA integrity_check` and is
known to be a Fync database, and the check runs on the copy that will be installed,
so the bytes checked are the bytes served. The previous database is kept beside it
as `fync.db.before-restore-<time>`, never overwritten by a later restore.

A running instance is detected through SQLite's own locks, not a pid file: asking
for an exclusive lock (`locking_mode=EXCLUSIVE` + `BEGIN EXCLUSIVE`) fails while any
process has the database open in WAL mode — `fync serve` (of any version, even one
that predates this file), a `fync backup` half-way, an `sqlite3` shell. The kernel
drops those locks when a process dies, so a crash never leaves a stale marker that
blocks the restore, and a recycled pid can't fake one. Under that lock the WAL is
folded into the main file (moving the file without its WAL would lose commits)
before the file is moved aside.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from pathlib import Path

SIDE_FILES = ("-wal", "-shm", "-journal")
LOCK_WAIT = 0.5  # seconds: long enough to ride out a single write of a running instance


class RestoreError(Exception):
    """The restore cannot go ahead; the message says why and what to do."""


class DatabaseInUse(RestoreError):
    def __init__(self, path: Path):
        super().__init__(f"{path} is open in another process (is `fync serve` running?); "
                         "stop it first (e.g. sudo systemctl stop fync), then restore")


def restore(backup: Path, target: Path) -> Path | None:
    """Install `backup` as `target` → where the previous database was kept, if there was one."""
    backup, target = Path(backup), Path(target)
    if not backup.is_file():
        raise RestoreError(f"backup {backup} not found")
    if target.exists() and backup.resolve() == target.resolve():
        raise RestoreError(f"{backup} is the live database itself; restore from a copy")
    if target.exists():
        _release(_lock(target))  # fail fast, before copying a large file
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(target.name + ".restoring")
    _remove_with_side_files(incoming)
    try:
        shutil.copyfile(backup, incoming)
        check_backup(incoming)
        kept = _set_aside(target) if target.exists() else None
        _match_owner_and_mode(incoming, kept)
        _fsync(incoming)
        os.replace(incoming, target)
        _fsync(target.parent)
    finally:
        _remove_with_side_files(incoming)
    return kept


def check_backup(path: Path) -> None:
    """Refuse a file that is not an intact Fync database."""
    try:
        with contextlib.closing(sqlite3.connect(str(path), isolation_level=None)) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise RestoreError(f"backup failed its integrity check ({'; '.join(problems)}); "
                                   "nothing was changed: restore from another backup")
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone():
                raise RestoreError("backup is an SQLite file but not a Fync database (no schema_migrations)")
    except sqlite3.DatabaseError as exc:
        raise RestoreError(f"backup is not a usable SQLite database ({exc}); nothing was changed") from None


def _lock(path: Path) -> sqlite3.Connection:
    """An exclusive lock on the database, or DatabaseInUse."""
    conn = sqlite3.connect(str(path), timeout=LOCK_WAIT, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise DatabaseInUse(path) from None
        raise
    return conn


def _release(conn: sqlite3.Connection) -> None:
    conn.execute("ROLLBACK")
    conn.close()


def _set_aside(target: Path) -> Path:
    """Fold the WAL in under an exclusive lock, then move the database to a fresh name."""
    conn = _lock(target)
    try:
        conn.execute("COMMIT")  # the lock stays: locking_mode is EXCLUSIVE
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise DatabaseInUse(target)
    finally:
        conn.close()
    wal = Path(f"{target}-wal")
    if wal.exists() and wal.stat().st_size:
        raise RestoreError(f"{wal} still holds commits; start and stop fync once, then restore")
    kept = target.with_name(f"{target.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
    while kept.exists():
        kept = kept.with_name(kept.name + "-1")
    os.replace(target, kept)
    for suffix in SIDE_FILES:  # empty after the checkpoint; stale beside the new file
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    return kept


def _match_owner_and_mode(incoming: Path, previous: Path | None) -> None:
    """The new file gets the old one's owner and mode (root restoring for the `fync` user)."""
    if previous is None:
        os.chmod(incoming, 0o600)
        return
    st = previous.stat()
    os.chmod(incoming, st.st_mode & 0o777)
    if os.geteuid() == 0:
        os.chown(incoming, st.st_uid, st.st_gid)


def _remove_with_side_files(path: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """To disk before the rename that makes it the database (and the rename itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
