"""Upgrading a database made by Fync's first schema to the newest (issue 11 §2).

There is no v0.1.0 tag yet: the first schema is migrations 0001 and 0002 as landed in
commit 3bbf7d6. `fixtures/first_schema.sql` is a database that commit's own code made
(see fixtures/make_first_schema_db.py), with users, a session, a client, a grant,
tokens and a consent. After `fync migrate` (or `fync serve`, which migrates first)
the rows are all there and still work: the old password logs in, the old access
token reads /api/me, the old refresh token rotates, and nothing is left pending.
"""
from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from pathlib import Path

import pytest

from gancio_like.storage.migrate import core_folder, read_folder
from oauth_helpers import api, refresh
from test_cli import database, fync

FIXTURE = Path(__file__).parent / "fixtures" / "first_schema.sql"
FIRST_COMMIT = "3bbf7d6"
FIRST = ("0001_accounts.sql", "0002_oauth.sql")
CLIENT = {"client_id": "first-client", "client_secret": "first-client-secret"}
# Every table of the first schema and the columns it had then: all must survive.
OLD_TABLES = ("users", "user_interests", "sessions", "clients", "grants", "tokens", "consents")


def load_first_schema(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(FIXTURE.read_text(encoding="utf-8"))


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """The first schema's rows, by its own columns, whatever columns were added since."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        out = {}
        for table in OLD_TABLES:
            columns = ", ".join(FIRST_COLUMNS[table])
            out[table] = conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2").fetchall()
        return out


def _first_columns() -> dict[str, list[str]]:
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.executescript(FIXTURE.read_text(encoding="utf-8"))
        return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in OLD_TABLES}


FIRST_COLUMNS = _first_columns()


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "fync.toml").write_text('[server]\ndata_dir = "data"\n')
    load_first_schema(database(tmp_path))
    return tmp_path


# -- the fixture is what it claims to be ------------------------------------------------------


def test_fixture_records_exactly_the_first_two_migrations_unedited():
    current = {m.name: m.checksum for m in read_folder("core", core_folder())}
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.executescript(FIXTURE.read_text(encoding="utf-8"))
        applied = conn.execute("SELECT owner, name, checksum FROM schema_migrations ORDER BY name").fetchall()
    assert applied == [("core", name, current[name]) for name in FIRST]


def test_fixture_schema_is_the_first_commits_migrations():
    """Where git history is at hand, the fixture's tables are 3bbf7d6's 0001 + 0002, applied afresh."""
    repo = Path(__file__).resolve().parent.parent
    sources = []
    for name in FIRST:
        shown = subprocess.run(["git", "-C", str(repo), "show", f"{FIRST_COMMIT}:migrations/{name}"],
                               capture_output=True, text=True)
        if shown.returncode != 0:
            pytest.skip(f"no git history with {FIRST_COMMIT} here")
        sources.append(shown.stdout)

    def schema(script: str) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(":memory:")) as conn:
            conn.executescript(script)
            return conn.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name != 'schema_migrations' "
                                "ORDER BY name").fetchall()
    assert schema(FIXTURE.read_text(encoding="utf-8")) == schema("\n".join(sources))


# -- upgrading by the command line, as docs/deploy.md says -------------------------------------


def test_migrate_check_then_migrate_upgrades_and_keeps_every_row(instance):
    before = snapshot(database(instance))
    check = fync(instance, "migrate", "--check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "pending: core 0003_friends.sql" in check.stdout
    assert "pending: core 0001_accounts.sql" not in check.stdout
    assert snapshot(database(instance)) == before  # --check applies nothing

    result = fync(instance, "migrate")
    assert result.returncode == 0, result.stderr
    clean = fync(instance, "migrate", "--check")
    assert clean.returncode == 0, clean.stdout
    assert "0 pending" in clean.stdout
    assert snapshot(database(instance)) == before
    with contextlib.closing(sqlite3.connect(database(instance))) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


# -- and the upgraded rows still work (fync serve migrates on start) ---------------------------


@pytest.fixture
def cfg(cfg):
    """The shared cfg fixture, with the first schema's database in place before the app opens it."""
    load_first_schema(cfg.database_path)
    return cfg


@pytest.mark.sqlite_only  # the first release's database is a SQLite file
@pytest.mark.gen_test
async def test_old_password_token_and_refresh_token_work_after_upgrade(browser, db):
    me = await api(browser, "/api/me", "first-access-token")
    assert me.code == 200, me.text
    assert me.json()["username"] == "alice"
    rotated = await refresh(browser, CLIENT, "first-refresh-token")
    assert rotated.code == 200, rotated.text
    assert (await api(browser, "/api/me", rotated.json()["access_token"])).code == 200
    await browser.login("alice", "first password")
    page = await browser.get("/settings")
    assert page.code == 200 and "gardening" in page.text
    health = await browser.get("/health")
    assert health.code == 200 and health.json()["migrations"] == "current"
