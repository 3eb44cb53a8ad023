"""Graceful shutdown (SPEC §1 `fync serve`; issue 10 item 6): on SIGTERM the server
stops accepting, lets the requests it has — even one whose body is still arriving —
finish, checkpoints the WAL, closes the database and exits 0 within 10 s."""
from __future__ import annotations

import asyncio
import signal
import time

import pytest

from serve_helpers import PASSWORD, Account, FyncServer, RawResponse, basic, form, raw_request


@pytest.fixture
def server(tmp_path):
    # Logins are the slow requests here; concurrent ones would count against the throttle.
    server = FyncServer(tmp_path / "instance", FYNC_SECURITY_LOGIN_FAILURES_PER_MINUTE=100).start()
    yield server
    server.stop()


def wal_size(server: FyncServer) -> int:
    wal = server.db_path.with_name("fync.db-wal")
    return wal.stat().st_size if wal.exists() else 0


def requests_in_flight(server: FyncServer, alice: Account, client: dict, refresh_tokens: list[str]) -> list[bytes]:
    """Slow ones (logins: argon2 with production parameters, two at a time) and writes."""
    cookie = f"_xsrf={alice.xsrf()}"
    login = form({"_xsrf": alice.xsrf(), "username": "alice", "password": PASSWORD})
    logins = [raw_request("POST", "/login", login, {"Cookie": cookie,
                                                     "Content-Type": "application/x-www-form-urlencoded"})
              for _ in range(12)]
    refreshes = [raw_request("POST", "/oauth/token", form({"grant_type": "refresh_token", "refresh_token": rt}),
                             {**basic(client), "Content-Type": "application/x-www-form-urlencoded"})
                 for rt in refresh_tokens]
    return logins + refreshes


async def send(port: int, data: bytes, split: int | None = None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data[:split])
    await writer.drain()
    return reader, writer


async def sigterm_with_requests_in_flight(server: FyncServer, requests: list[bytes]):
    conns = [await send(server.port, data) for data in requests]
    # One more whose body is only half there when the signal comes.
    upload = requests[-1]
    late = await send(server.port, upload, split=len(upload) - 10)
    await asyncio.sleep(0.1)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    refused = await connection_refused(server.port)
    late[1].write(upload[-10:])
    replies = [RawResponse(await asyncio.wait_for(reader.read(), 15)) for reader, _ in conns + [late]]
    for _, writer in conns + [late]:
        writer.close()
    return replies, refused, started


async def connection_refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


def test_sigterm_lets_in_flight_requests_finish_and_checkpoints(server):
    alice = Account(server.url, "alice").signup()
    client = alice.register()
    refresh_tokens = [alice.tokens(client)["refresh_token"] for _ in range(8)]
    requests = requests_in_flight(server, alice, client, refresh_tokens)
    assert wal_size(server) > 0  # there is something to checkpoint
    replies, refused, started = asyncio.run(sigterm_with_requests_in_flight(server, requests))
    code = server.proc.wait(timeout=10)
    elapsed = time.monotonic() - started
    statuses = [r.status for r in replies]
    assert all(s in (302, 303) for s in statuses[:12]), statuses  # logged in
    assert statuses[12:] == [200] * 8 + [400], statuses  # the last: a second use of one token
    assert replies[-1].json()["error"] == "invalid_grant"
    assert refused, "a new connection was accepted after SIGTERM"
    assert code == 0 and elapsed < 10, (code, elapsed)
    assert wal_size(server) == 0  # checkpointed (and removed on close)
    assert server.integrity() == ("ok", [])
    # Every refresh answered 200 is stored.
    assert server.query("SELECT count(*) FROM tokens t JOIN grants g ON g.id = t.grant_id WHERE t.kind = 'refresh' "
                        "AND t.spent_at IS NULL AND t.revoked_at IS NULL AND g.revoked_at IS NULL")[0][0] == 7
    assert "stopped" in server.log
    alice.close()


def test_idle_connections_do_not_hold_up_shutdown(server):
    async def run():
        conns = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(100)]
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = await asyncio.get_running_loop().run_in_executor(None, server.proc.wait, 10)
        closed = [await asyncio.wait_for(reader.read(), 5) for reader, _ in conns]
        for _, writer in conns:
            writer.close()
        return code, time.monotonic() - started, closed

    code, elapsed, closed = asyncio.run(run())
    assert code == 0 and elapsed < 3, (code, elapsed)
    assert closed == [b""] * 100


def test_sigint_stops_the_same_way(server):
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=10) == 0
    assert server.integrity() == ("ok", [])


def test_a_body_still_arriving_at_sigterm_is_waited_for(server):
    alice = Account(server.url, "alice").signup()
    client = alice.register()
    data = raw_request("POST", "/oauth/token", form({"grant_type": "refresh_token",
                                                     "refresh_token": alice.tokens(client)["refresh_token"]}),
                       {**basic(client), "Content-Type": "application/x-www-form-urlencoded"})

    async def run():
        reader, writer = await send(server.port, data, split=len(data) - 10)
        await asyncio.sleep(0.1)
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(1)
        alive = server.proc.poll() is None
        writer.write(data[-10:])
        reply = RawResponse(await asyncio.wait_for(reader.read(), 10))
        writer.close()
        return alive, reply

    alive, reply = asyncio.run(run())
    assert alive and reply.status == 200, reply
    assert server.proc.wait(timeout=10) == 0
    alice.close()
