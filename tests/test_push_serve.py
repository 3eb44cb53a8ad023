"""Web Push from a real `fync serve` process (SPEC §4): `serve()` runs the push worker,
and a crash between a notification's commit and its push loses nothing — the push
is in the database, and the restarted process sends it.

The push service (tests/push_helpers.py) is on loopback over TLS; the process trusts
its CA through SSL_CERT_FILE. SQLite in the data dir, or with FYNC_TEST_DATABASE_URL
a PostgreSQL schema of its own."""
from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

import pg_helpers
from push_helpers import PushService
from serve_helpers import Account, FyncServer

SCOPES = "profile friends:read friends:write notifications"
CONTACT = "mailto:admin@example.org"


def rows(server: FyncServer, sql: str) -> list[tuple]:
    url = server.env.get("FYNC_DATABASE_URL")
    if not url:
        return server.query(sql)

    async def fetch():
        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()
    return asyncio.run(fetch())


async def off_loop(fn, *args):
    """Blocking work (the HTTP client, the process, the database) away from the loop
    that serves the push service."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def eventually(check, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not (result := await off_loop(check)):
        assert time.monotonic() < deadline, f"still {result!r} after {seconds} s"
        await asyncio.sleep(0.1)
    return result


@pytest.fixture
def database():
    url = pg_helpers.create_database() if pg_helpers.SERVER_URL else ""
    yield url
    if url:
        pg_helpers.drop_database(url)


@pytest.mark.gen_test(timeout=120)
async def test_a_push_survives_a_crash_between_commit_and_delivery(tmp_path, database):
    service = PushService("", subject=CONTACT)  # not listening yet: the push service is down
    env = {"FYNC_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true", "FYNC_PUSH_CONTACT": CONTACT,
           "SSL_CERT_FILE": service.ca_file(tmp_path)}
    if database:
        env["FYNC_DATABASE_URL"] = database
    server = FyncServer(tmp_path / "instance", **env)
    alice = bob = None
    try:
        await off_loop(server.start)
        alice, bob = Account(server.url, "alice"), Account(server.url, "bob")
        alice_token = await off_loop(lambda: alice.signup().tokens(alice.register(SCOPES), SCOPES)["access_token"])
        bob_token = await off_loop(lambda: bob.signup().tokens(bob.register(SCOPES), SCOPES)["access_token"])
        service.vapid_public_key = (await off_loop(alice.http.get, "/api/push/key")).json()["public_key"]
        device = service.device("phone")
        r = await off_loop(lambda: alice.http.post("/api/push/subscriptions", json=device.json(),
                                                   headers={"Authorization": f"Bearer {alice_token}"}))
        assert r.status_code == 201, r.text
        r = await off_loop(lambda: bob.http.post("/api/friends/requests", json={"to": "alice"},
                                                 headers={"Authorization": f"Bearer {bob_token}"}))
        assert r.status_code == 201, r.text
        # Committed, and tried once against the service that is down; then the crash.
        await eventually(lambda: rows(server, "SELECT 1 FROM push_deliveries WHERE last_error IS NOT NULL "
                                              "AND claimed_until IS NULL"))
        await off_loop(server.kill)
        assert await off_loop(rows, server, "SELECT count(*) FROM push_deliveries") == [(1,)]
        service.start()
        await off_loop(server.start)
        [push] = await service.wait(1, seconds=30)
        assert push.payload["type"] == "friend_request" and "bob" in push.payload["body"]
        assert push.claims["sub"] == CONTACT and service.refused == []
        await eventually(lambda: rows(server, "SELECT count(*) FROM push_deliveries") == [(0,)])
        assert await off_loop(server.terminate) == 0
        assert "Traceback" not in server.log
    finally:
        for account in (alice, bob):
            if account is not None:
                account.close()
        await off_loop(server.stop)
        await service.stop()
