"""`fync backup` under write load and `fync restore` (issue 11 §3), as real processes.

A writer process commits one user and three interests per transaction, as fast as
it can, through the storage layer; backups taken meanwhile must each be one
consistent moment (never a user without its interests) and restore to an equal
database. Restore refuses a running instance's database, and any backup that is
not an intact Fync database, without touching the live file.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tornado.testing import bind_unused_port

from test_cli import add_user, assert_one_line_error, clean_env, database, fync

WRITER = r"""
import asyncio, sys
from pathlib import Path
from gancio_like.storage import users
from gancio_like.storage.db import Database

async def main(path, stop):
    db = await Database(Path(path)).open()
    i = 0
    while not Path(stop).exists():
        i += 1
        async with db.transaction() as tx:
            uid = await users.insert_user(tx, f"load{i}", "not-a-hash", "", i)
            await users.update_profile(tx, uid, f"Load {i}", "", ["a", "b", "c"])
        if i == 20:
            print("writing", flush=True)
    await db.close()
    print(i, flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.fixture
def instance(tmp_path):
    root = tmp_path / "live"
    root.mkdir()
    (root / "fync.toml").write_text('[server]\ndata_dir = "data"\n')
    assert add_user(root, "alice").returncode == 0
    return root


def dump(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.iterdump())


def rows(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def assert_consistent(path: Path) -> int:
    """A snapshot of the load: every user it holds has all three interests → the count."""
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]
    ids = [r[0] for r in rows(path, "SELECT id FROM users WHERE username LIKE 'load%' ORDER BY id")]
    interests = rows(path, "SELECT count(*) FROM user_interests")[0][0]
    assert interests == 3 * len(ids), (interests, len(ids))
    assert ids == list(range(ids[0], ids[0] + len(ids))) if ids else True
    return len(ids)


def start_writer(instance: Path, stop: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(database(instance)), str(stop)],
                            stdout=subprocess.PIPE, text=True, env=clean_env())
    assert proc.stdout.readline().strip() == "writing"
    return proc


def test_backups_under_write_load_are_consistent_and_restore_equal(instance, tmp_path):
    stop = tmp_path / "stop"
    writer = start_writer(instance, stop)
    backups = []
    try:
        for n in range(3):
            target = tmp_path / f"under-load-{n}.db"
            result = fync(instance, "backup", str(target))
            assert result.returncode == 0, result.stderr
            backups.append(target)
    finally:
        stop.touch()
        written = int(writer.communicate(timeout=30)[0].strip())
    counts = [assert_consistent(b) for b in backups]
    assert 0 < counts[0] <= counts[-1] <= written
    assert counts[-1] < written or counts[0] < counts[-1], "the writer never ran during the backups"

    live_before = dump(database(instance))
    result = fync(instance, "restore", str(backups[0]))
    assert result.returncode == 0, result.stderr
    assert dump(database(instance)) == dump(backups[0])
    kept = [p for p in (instance / "data").iterdir() if ".before-restore-" in p.name]
    assert len(kept) == 1 and dump(kept[0]) == live_before
    assert fync(instance, "migrate", "--check").returncode == 0


def test_a_quiet_database_round_trips_to_an_equal_one(instance, tmp_path):
    add_user(instance, "bob")
    backup = tmp_path / "quiet.db"
    assert fync(instance, "backup", str(backup)).returncode == 0
    assert backup.stat().st_mode & 0o077 == 0  # it holds password hashes
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "fync.toml").write_text('[server]\ndata_dir = "data"\n')
    result = fync(fresh, "restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert "kept" not in result.stdout  # nothing was there before
    assert dump(database(fresh)) == dump(database(instance))
    assert database(fresh).stat().st_mode & 0o077 == 0


def test_restore_keeps_commits_still_in_the_wal(instance, tmp_path):
    """The live file is moved aside only after its WAL is folded in: no commit is lost."""
    backup = tmp_path / "b.db"
    assert fync(instance, "backup", str(backup)).returncode == 0
    crash = ("import os, sqlite3, sys\n"
             "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "c.execute('PRAGMA wal_autocheckpoint=0')\n"
             "c.execute(\"UPDATE users SET bio = 'only in the WAL'\")\n"
             "os._exit(0)\n")  # dies without closing: the commit stays in fync.db-wal
    subprocess.run([sys.executable, "-c", crash, str(database(instance))], check=True)
    assert Path(f"{database(instance)}-wal").stat().st_size > 0
    assert fync(instance, "restore", str(backup)).returncode == 0
    kept = next(p for p in (instance / "data").iterdir() if ".before-restore-" in p.name)
    assert rows(kept, "SELECT bio FROM users") == [("only in the WAL",)]
    assert rows(database(instance), "SELECT bio FROM users") == [("",)]


def test_two_restores_keep_both_previous_databases(instance, tmp_path):
    backup = tmp_path / "b.db"
    assert fync(instance, "backup", str(backup)).returncode == 0
    assert fync(instance, "restore", str(backup)).returncode == 0
    time.sleep(1.1)  # the kept name carries the time to the second
    assert fync(instance, "restore", str(backup)).returncode == 0
    kept = [p for p in (instance / "data").iterdir() if ".before-restore-" in p.name]
    assert len(kept) == 2


# -- refusals: the live database is never touched ---------------------------------------------


def serve(instance: Path) -> tuple[subprocess.Popen, int]:
    sock, port = bind_unused_port()
    sock.close()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("fync")), "serve", "--config",
                             str(instance / "fync.toml"), "--port", str(port)],
                            cwd=instance, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                if resp.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("fync serve did not start")


def test_restore_refuses_while_an_instance_serves_the_database(instance, tmp_path):
    backup = tmp_path / "b.db"
    assert fync(instance, "backup", str(backup)).returncode == 0
    before = dump(database(instance))
    proc, _ = serve(instance)
    try:
        result = fync(instance, "restore", str(backup))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert_one_line_error(result, "running", "stop it first")
    assert dump(database(instance)) == before
    assert not [p for p in (instance / "data").iterdir() if "restor" in p.name]
    assert fync(instance, "restore", str(backup)).returncode == 0  # once stopped, it goes ahead


def corrupt(backup: Path) -> None:
    """Scribble over the users table's unique index page: the file opens, the check fails."""
    root = rows(backup, "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_users_1'")[0][0]
    size = rows(backup, "PRAGMA page_size")[0][0]
    with open(backup, "r+b") as f:
        f.seek((root - 1) * size + 8)
        f.write(os.urandom(64))


@pytest.mark.parametrize("make,words", [
    (corrupt, ("integrity", "nothing was changed")),
    (lambda p: p.write_bytes(os.urandom(8192)), ("not a usable SQLite database",)),
    (lambda p: (p.unlink(), sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.commit()),
     ("not a Fync database",)),
    (lambda p: p.unlink(), ("not found",)),
], ids=["corrupt", "not-sqlite", "not-fync", "missing"])
def test_restore_refuses_a_bad_backup(instance, tmp_path, make, words):
    backup = tmp_path / "bad.db"
    assert fync(instance, "backup", str(backup)).returncode == 0
    make(backup)
    before = dump(database(instance))
    assert_one_line_error(fync(instance, "restore", str(backup)), *words)
    assert dump(database(instance)) == before
    assert not [p for p in (instance / "data").iterdir() if "restor" in p.name]


def test_restore_refuses_the_live_database_itself(instance):
    assert_one_line_error(fync(instance, "restore", str(database(instance))), "live database")


def test_restore_help(tmp_path):
    result = fync(tmp_path, "restore", "--help", config=False)
    assert result.returncode == 0 and "integrity" in result.stdout
