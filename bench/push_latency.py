"""How long a friend request takes to become a push, and how big a push is (issue 18).

Starts `fync serve` (this checkout's venv, SQLite in a temporary folder) and the test
suite's push service on loopback over TLS (tests/push_helpers.py: it checks VAPID and
decrypts every push), subscribes alice's device, then N people each send alice a
friend request. For each: from the 201 reaching the client (the commit happened
before it was sent) to the push service receiving the push, and from the request's
start. Also: a push's size on the wire (request line, headers and body).

    .venv/bin/python bench/push_latency.py [--requests 20]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx  # noqa: E402

from push_helpers import PushService  # noqa: E402
from serve_helpers import Account, FyncServer  # noqa: E402

SCOPES = "profile friends:read friends:write notifications"


async def off_loop(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def run(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        service = PushService("", subject="mailto:admin@example.org").start()
        server = FyncServer(Path(tmp) / "instance", FYNC_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true",
                            FYNC_PUSH_CONTACT="mailto:admin@example.org", SSL_CERT_FILE=service.ca_file(tmp))
        await off_loop(server.start)
        try:
            await measure(server, service, count)
        finally:
            await off_loop(server.stop)
            await service.stop()


async def measure(server: FyncServer, service: PushService, count: int) -> None:
    alice = Account(server.url, "alice")
    token = await off_loop(lambda: alice.signup().tokens(alice.register(SCOPES), SCOPES)["access_token"])
    service.vapid_public_key = (await off_loop(alice.http.get, "/api/push/key")).json()["public_key"]
    r = await off_loop(lambda: alice.http.post("/api/push/subscriptions", json=service.device("phone").json(),
                                               headers={"Authorization": f"Bearer {token}"}))
    assert r.status_code == 201, r.text
    senders = []
    for n in range(count):
        account = Account(server.url, f"friend{n}")
        senders.append((account, await off_loop(lambda a=account: a.signup().tokens(a.register(SCOPES), SCOPES))))
    after_201, after_start = [], []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for n, (account, tokens) in enumerate(senders):
            started = time.monotonic()
            r = await http.post("/api/friends/requests", json={"to": "alice"},
                                headers={"Authorization": f"Bearer {tokens['access_token']}"})
            answered = time.monotonic()
            assert r.status_code == 201, r.text
            push = (await service.wait(n + 1))[n]
            after_201.append((push.at - answered) * 1000)
            after_start.append((push.at - started) * 1000)
            account.close()
    assert service.refused == []
    push = service.received[0]
    print(f"{count} friend requests → {len(service.received)} pushes, all VAPID-checked and decrypted")
    print(f"commit (201 received) → push received: median {statistics.median(after_201):.1f} ms, "
          f"min {min(after_201):.1f}, max {max(after_201):.1f}")
    print(f"request sent → push received:         median {statistics.median(after_start):.1f} ms")
    print(f"a push on the wire: {push.wire_bytes} bytes ({push.wire_bytes - push.body_bytes} request line and "
          f"headers, {push.body_bytes} body: {len(str(push.payload).encode())}-odd bytes of JSON encrypted)")
    print("payload:", push.payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    asyncio.run(run(parser.parse_args().requests))


if __name__ == "__main__":
    main()
