"""Federation between two real `fync serve` processes (SPEC §1, §6): `serve()` runs
the delivery worker with its production pace, a peer that is down for a while
gets its Follow once it is back, and SIGTERM stops the worker cleanly.

Each process has SQLite in its data dir or, with FYNC_TEST_DATABASE_URL, a fresh
PostgreSQL schema of its own (dropped once the process is gone)."""
from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

import pg_helpers
from serve_helpers import Account, FyncServer

SCOPE = "profile friends:read friends:write"


def eventually(check, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still {result!r} after {seconds} s")
        time.sleep(0.1)


class Member:
    """An account on a live instance with a friends token."""

    def __init__(self, server: FyncServer, name: str):
        self.account = Account(server.url, name).signup()
        client = self.account.register(SCOPE)
        token = self.account.tokens(client, SCOPE)["access_token"]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.acct = f"{name}@127.0.0.1:{server.port}"

    def get(self, path: str) -> dict:
        r = self.account.http.get(path, headers=self.auth)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body=None):
        return self.account.http.post(path, json=body, headers=self.auth)


def query(server: FyncServer, sql: str) -> list[tuple]:
    """Rows from the server's database, whichever it is (FyncServer.query reads SQLite only)."""
    url = server.env.get("FYNC_DATABASE_URL")
    if not url:
        return server.query(sql)

    async def fetch():
        conn = await asyncpg.connect(url)  # asyncpg sends ?search_path= as a setting
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()
    return asyncio.run(fetch())


@pytest.fixture
def servers(tmp_path):
    made, databases = [], []

    def make(name: str) -> FyncServer:
        env = {"FYNC_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true"}
        if pg_helpers.SERVER_URL:
            databases.append(pg_helpers.create_database())
            env["FYNC_DATABASE_URL"] = databases[-1]
        server = FyncServer(tmp_path / name, **env).start()
        made.append(server)
        return server
    yield make
    for server in made:
        server.stop()
    for url in databases:  # after every process has stopped: none holds a connection
        pg_helpers.drop_database(url)


def test_two_instances_befriend_through_a_restart(servers):
    a, b = servers("a"), servers("b")
    alice, bob = Member(a, "alice"), Member(b, "bob")
    try:
        assert b.terminate() == 0
        assert alice.post("/api/friends/requests", {"to": bob.acct}).status_code == 201
        eventually(lambda: query(a, "SELECT last_error FROM deliveries WHERE last_error IS NOT NULL"))
        b.start()
        [request] = eventually(lambda: bob.get("/api/friends/requests")["incoming"])
        assert request["from"] == alice.acct
        assert bob.post(f"/api/friends/requests/{request['id']}/accept").status_code == 200
        eventually(lambda: alice.get("/api/friends")["items"])
        assert [f["acct"] for f in alice.get("/api/friends")["items"]] == [bob.acct]
        assert [f["acct"] for f in bob.get("/api/friends")["items"]] == [alice.acct]
        eventually(lambda: not query(b, "SELECT 1 FROM deliveries WHERE delivered_at IS NULL"))
    finally:
        alice.account.close()
        bob.account.close()
    assert a.terminate() == 0 and b.terminate() == 0
    assert "Traceback" not in a.log + b.log
