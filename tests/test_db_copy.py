"""`fync db copy --to postgresql://…` (issue 12 §3): a populated SQLite instance moves to
PostgreSQL and keeps working there — tokens, refresh rotation, passwords, new rows —
and every refusal or failure leaves the target exactly as it was.

The source is always SQLite here (the `database_url` fixture is overridden), the
target a fresh PostgreSQL schema on FYNC_TEST_DATABASE_URL's server.
"""
from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import argon2
import asyncpg
import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

import pg_helpers
from federation_helpers import PASSWORD, Browser
from gancio_like.app import make_app, open_instance
from gancio_like.config import load_config
from gancio_like.plugin_host import PluginHost
from gancio_like.services import notify
from gancio_like.services.accounts import create_user
from gancio_like.storage import migrate
from gancio_like.storage.copy import CopyError, foreign_key_order
from gancio_like.storage.federation import insert_delivery
from oauth_helpers import api, full_flow, refresh, register
from test_cli import add_user, assert_one_line_error, fync

SCOPE = "profile friends:read friends:write event:write checkins:read checkins:write"


@pytest.fixture
def database_url():
    """The instance under test is the SQLite source, whatever the suite runs on."""
    return ""


@pytest.fixture
def config_overrides():
    return {("federation", "enabled"): False}  # the queued delivery stays queued, untouched


@pytest.fixture
def target():
    """A fresh empty PostgreSQL database (schema) to copy into; skips without a server."""
    if not pg_helpers.SERVER_URL:
        pytest.skip("copies into PostgreSQL: set FYNC_TEST_DATABASE_URL to a server")
    url = pg_helpers.create_database()
    yield url
    pg_helpers.drop_database(url)


@pytest.fixture
def instance(tmp_path):
    """A folder with a fync.toml (data in ./data) for the command-line tests."""
    (tmp_path / "fync.toml").write_text('[server]\ndata_dir = "data"\n[federation]\nenabled = false\n')
    return tmp_path


def run(coro):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


async def _query(url: str, sql: str) -> list:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def target_tables(url: str) -> list[str]:
    return [r[0] for r in run(_query(url, "SELECT table_name FROM information_schema.tables "
                                          "WHERE table_schema = current_schema() ORDER BY 1"))]


def sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'")]
        return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


# -- the round trip -------------------------------------------------------------------------------


async def populate(app, browser, make_browser, make_user) -> dict:
    """Every kind of row, through the app's own paths: accounts, an app, a PKCE grant,
    friends, events with tags, a check-in (plugin), a queued federation delivery."""
    alice = await make_user("alice", admin=True)
    bob = await make_user("bob")
    await browser.login("alice")
    client = await register(browser, scope=SCOPE)
    tokens = await full_flow(browser, client, scope=SCOPE)
    bob_browser = make_browser()
    await bob_browser.login("bob")
    bob_tokens = await full_flow(bob_browser, client, scope=SCOPE)

    r = await api(browser, "/api/friends/requests", tokens["access_token"], "POST", {"to": "bob"})
    assert r.code == 201, r.text
    r = await api(bob_browser, f"/api/friends/requests/{r.json()['id']}/accept", bob_tokens["access_token"], "POST", {})
    assert r.code == 200, r.text
    events = []
    for title, tags in (("Picnic", ["outdoor", "food"]), ("Concert", ["music"])):
        r = await api(browser, "/api/events", tokens["access_token"], "POST",
                      {"title": title, "start_datetime": 4102444800, "tags": tags})
        assert r.code == 201, r.text
        events.append(r.json()["id"])
    r = await api(bob_browser, "/api/checkins", bob_tokens["access_token"], "POST", {"event_id": events[0]})
    assert r.code == 201, r.text
    async with app.db.transaction() as tx:
        await insert_delivery(tx, alice, "carol@remote.example", None, json.dumps({"type": "Follow"}), 1700000000)
    async with app.db.transaction() as tx:  # a device of bob's, and a push queued for it (by trigger)
        grant = await tx.fetchval("SELECT max(id) FROM grants WHERE user_id = ?", (bob,))
        await tx.execute("INSERT INTO push_subscriptions (grant_id, user_id, endpoint, p256dh, auth, created_at) "
                         "VALUES (?, ?, 'https://push.example/x', 'p', 'a', 0)", (grant, bob))
        await notify.record(tx, bob, "friend_request", "carol@remote.example", None, "/friends")
    return {"client": client, "tokens": tokens, "alice": alice, "bob": bob, "events": events}


async def serve_on(url: str, cfg):
    """The same instance (data folder, secret key) on the PostgreSQL database, on its own port."""
    sock, port = bind_unused_port()
    base = f"http://127.0.0.1:{port}"
    overrides = {("server", "data_dir"): str(cfg.data_dir), ("server", "public_url"): base,
                 ("database", "url"): url, ("federation", "enabled"): False}
    pg_cfg = load_config(str(Path(cfg.data_dir).parent / "fync.toml"), env={}, overrides=overrides)
    db, plugins = await open_instance(pg_cfg)
    app = await make_app(pg_cfg, db, plugins)
    app.passwords.hasher = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    server = HTTPServer(app)
    server.add_sockets([sock])
    return app, server, base


@pytest.mark.gen_test(timeout=120)
async def test_copy_round_trips_a_populated_instance(app, cfg, browser, make_browser, make_user, http_client, target):
    made = await populate(app, browser, make_browser, make_user)
    before = sqlite_counts(cfg.database_path)
    assert all(before[t] > 0 for t in ("users", "clients", "grants", "tokens", "friendships", "friend_requests",
                                       "events", "event_tags", "checkins", "deliveries", "sessions", "consents",
                                       "notifications", "push_subscriptions", "push_deliveries"))

    # The source instance stays open (serving) while it is copied.
    folder = Path(cfg.data_dir).parent
    (folder / "fync.toml").write_text('[server]\ndata_dir = "data"\n[federation]\nenabled = false\n')
    result = fync(folder, "db", "copy", "--to", target)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2:] == ["[database]", f"url = {json.dumps(target)}"]
    for table, rows in before.items():
        assert any(line.split()[:2] == [table, str(rows)] for line in lines), (table, result.stdout)

    counts = {t: (await _query(target, f'SELECT count(*) FROM "{t}"'))[0][0] for t in before}
    assert counts == before

    pg_app, server, base = await serve_on(target, cfg)
    try:
        host = PluginHost.load(pg_app.cfg)
        assert await migrate.pending(pg_app.db, host.migrations("postgresql")) == []
        client = made["client"]
        other = Browser(http_client, base)
        # The access token from SQLite days still works.
        r = await api(other, "/api/me", made["tokens"]["access_token"])
        assert r.code == 200 and r.json()["username"] == "alice", r.text
        r = await api(other, "/api/friends", made["tokens"]["access_token"])
        assert r.code == 200 and [f["username"] for f in r.json()["items"]] == ["bob"], r.text
        # The refresh token rotates; the old one is spent.
        r = await refresh(other, client, made["tokens"]["refresh_token"])
        assert r.code == 200, r.text
        fresh = r.json()
        assert fresh["refresh_token"] != made["tokens"]["refresh_token"]
        # The old password logs in.
        await other.login("alice")
        # New rows get new ids (the sequences continue after the copied ones).
        carol = await create_user(pg_app.db, pg_app.passwords, "carol", PASSWORD)
        assert carol > max(made["alice"], made["bob"])
        new_client = await register(other, scope=SCOPE)
        assert new_client["client_id"] != client["client_id"]
        r = await api(other, "/api/events", fresh["access_token"], "POST",
                      {"title": "After the move", "start_datetime": 4102444800, "tags": ["music"]})
        assert r.code == 201 and r.json()["id"] > max(made["events"]), r.text
        r = await api(other, "/api/checkins", fresh["access_token"], "POST", {"event_id": r.json()["id"]})
        assert r.code == 201, r.text
        assert await pg_app.db.fetchval("SELECT count(*) FROM deliveries WHERE recipient = ?",
                                        ("carol@remote.example",)) == 1
        # Last (a replay ends the whole grant): the rotated-away refresh token is spent.
        assert (await refresh(other, client, made["tokens"]["refresh_token"])).code == 400
    finally:
        server.stop()
        await pg_app.db.close()


# -- refusals and failures: non-zero, one line, the target untouched -----------------------------


def migrated(instance: Path) -> None:
    assert add_user(instance, "alice").returncode == 0


def test_help(tmp_path):
    for command in (["db"], ["db", "copy"]):
        result = fync(tmp_path, *command, "--help", config=False)
        assert result.returncode == 0 and result.stdout.startswith("usage: fync"), result.stderr
    assert "--to URL" in fync(tmp_path, "db", "copy", "--help", config=False).stdout
    assert "db" in fync(tmp_path, "--help", config=False).stdout


def test_target_not_empty(instance, target):
    migrated(instance)
    run(_query(target, "CREATE TABLE notes (id int)"))
    result = fync(instance, "db", "copy", "--to", target)
    assert_one_line_error(result, "not empty", "notes")
    assert target_tables(target) == ["notes"]


def test_not_a_postgresql_url(instance):
    migrated(instance)
    assert_one_line_error(fync(instance, "db", "copy", "--to", "mysql://root@localhost/fync"), "postgresql://")


def test_unreachable_server_and_no_password_shown(instance):
    migrated(instance)
    sock, port = bind_unused_port()
    sock.close()  # nothing listens there now
    result = fync(instance, "db", "copy", "--to", f"postgresql://fync:hunter2@127.0.0.1:{port}/fync")
    assert_one_line_error(result, "cannot connect", f"postgresql://fync:***@127.0.0.1:{port}/fync")
    assert "hunter2" not in result.stderr


def test_missing_database(instance, target):
    migrated(instance)
    base = target.split("?", 1)[0].rpartition("/")[0]
    assert_one_line_error(fync(instance, "db", "copy", "--to", f"{base}/no_such_database_here"),
                          "cannot connect", "no_such_database_here")


def test_pending_migrations(instance, target):
    (instance / "data").mkdir()
    with sqlite3.connect(instance / "data" / "fync.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    assert_one_line_error(fync(instance, "db", "copy", "--to", target), "pending", "run `fync migrate` first")
    assert target_tables(target) == []


def test_no_source_database(instance, target):
    assert_one_line_error(fync(instance, "db", "copy", "--to", target), "no SQLite database")
    assert target_tables(target) == []


def test_source_already_postgresql(instance, target):
    (instance / "fync.toml").write_text(f'[database]\nurl = "{target}"\n')
    assert_one_line_error(fync(instance, "db", "copy", "--to", target), "already PostgreSQL")
    assert target_tables(target) == []


def test_table_of_a_disabled_plugin(instance, target):
    migrated(instance)  # checkins is enabled by default: its table is in the file
    with open(instance / "fync.toml", "a") as f:
        f.write("[plugins]\nenabled = []\n")
    result = fync(instance, "db", "copy", "--to", target)
    assert_one_line_error(result, "checkins", "plugin", "[plugins] enabled", "left unchanged")
    assert target_tables(target) == []  # the migrations it had applied were rolled back too


def test_a_failure_midway_rolls_everything_back(instance, target):
    """Rows already copied, then a value PostgreSQL cannot hold: nothing stays."""
    migrated(instance)
    with sqlite3.connect(instance / "data" / "fync.db") as conn:
        conn.execute("UPDATE users SET bio = ?", ("a\x00b",))
        conn.execute("INSERT INTO remote_actors (uri, acct, inbox, key_id, public_pem, fetched_at) "
                     "VALUES ('https://x.example/u/a', 'a@x.example', 'https://x.example/inbox', 'k', 'pem', 1)")
    result = fync(instance, "db", "copy", "--to", target)
    assert_one_line_error(result, "users", "bio", "NUL", "left unchanged")
    assert target_tables(target) == []


def test_copy_leaves_the_source_as_it_was(instance, target):
    migrated(instance)
    path = instance / "data" / "fync.db"
    before = path.read_bytes()
    assert fync(instance, "db", "copy", "--to", target).returncode == 0
    assert path.read_bytes() == before
    # Copying again is refused: the target now holds the instance.
    assert_one_line_error(fync(instance, "db", "copy", "--to", target), "not empty")


def test_foreign_key_order():
    order = foreign_key_order({"tokens": {"grants"}, "grants": {"users", "clients"}, "clients": {"users"},
                               "users": set(), "tree": {"tree", "users"}, "outside": {"gone"}})
    assert order.index("users") < order.index("clients") < order.index("grants") < order.index("tokens")
    assert order.index("users") < order.index("tree")
    with pytest.raises(CopyError, match="cycle"):
        foreign_key_order({"a": {"b"}, "b": {"a"}})


def test_the_source_is_one_snapshot_while_the_instance_writes(instance):
    """Rows committed after the copy began are not half-seen: every table is read as of its start."""
    from gancio_like.storage.copy import Snapshot
    migrated(instance)
    path = instance / "data" / "fync.db"
    snapshot = Snapshot(path)
    try:
        assert snapshot.count("users") == 1
        with sqlite3.connect(path) as writer:  # the running instance, meanwhile
            writer.execute("INSERT INTO users (username, password_hash, created_at) VALUES ('late', 'x', 1)")
        assert sqlite3.connect(path).execute("SELECT count(*) FROM users").fetchone()[0] == 2
        assert snapshot.count("users") == 1
        assert [row for rows in snapshot.rows("users", ["username"], 10) for row in rows] == [("alice",)]
    finally:
        snapshot.close()
