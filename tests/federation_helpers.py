"""Two (or more) Fync instances in one test: each a real app with its own data dir
and config, served by Tornado on its own loopback port in the test's event loop,
so they federate with each other over real HTTP (SPEC §6). An instance can stop
serving and serve again on the same port, or be closed and reopened on the same
data (a restart), and its delivery worker runs only when a test starts it.

Also: signing requests by hand, to play a hostile or broken peer.
"""
from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import time
from email.utils import formatdate
from pathlib import Path

import argon2
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.testing import bind_unused_port

from gancio_like.app import make_app, open_instance
from gancio_like.config import load_config
from gancio_like.federation import keys, signatures
from gancio_like.services.accounts import create_user
from oauth_helpers import api, full_flow, register
import pg_helpers

# The suite's Browser and Response, from tests/conftest.py by path: `import conftest`
# could find tests/browser/conftest.py instead, depending on what pytest loaded first.
_spec = importlib.util.spec_from_file_location("fync_test_conftest", Path(__file__).with_name("conftest.py"))
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
Browser, Response = _conftest.Browser, _conftest.Response

PASSWORD = "correct horse battery"
RW = "friends:read friends:write"
FAST = {"poll_interval": 0.05, "base_delay": 1}  # the worker's pace in tests


class Person:
    """A user of one instance with a logged-in browser and a friends token."""

    def __init__(self, instance: "Instance", name: str, user_id: int, browser: Browser, token: str):
        self.instance, self.name, self.id, self.browser, self.token = instance, name, user_id, browser, token

    @property
    def acct(self) -> str:
        return f"{self.name}@{self.instance.domain}"

    @property
    def actor(self) -> str:
        return f"{self.instance.base}/users/{self.name}"

    async def call(self, path: str, method: str = "GET", body=None) -> Response:
        return await api(self.browser, path, self.token, method=method, body=body)

    async def friends(self) -> list[str]:
        r = await self.call("/api/friends")
        assert r.code == 200, r.text
        return [f["acct"] for f in r.json()["items"]]

    async def requests(self) -> dict:
        r = await self.call("/api/friends/requests")
        assert r.code == 200, r.text
        return {k: [(q["from"], q["to"]) for q in v] for k, v in r.json().items()}

    async def ask(self, acct: str) -> dict:
        r = await self.call("/api/friends/requests", "POST", {"to": acct})
        assert r.code == 201, r.text
        return r.json()


class Instance:
    """One Fync instance on 127.0.0.1:PORT, data in `root/data`; its database is SQLite
    there, or — with FYNC_TEST_DATABASE_URL, as conftest's `cfg` — a PostgreSQL schema
    of its own, made on the first open (kept through restarts) and dropped by dispose()."""

    def __init__(self, root: Path, enabled: bool = True, allow_private: bool = True):
        self.root, self.enabled, self.allow_private = Path(root), enabled, allow_private
        self.root.mkdir(parents=True, exist_ok=True)
        self.sock, self.port = bind_unused_port()
        self.http = AsyncHTTPClient(force_instance=True)
        self.app = self.server = None
        self.closed = True
        self.database_url = ""  # "" → SQLite in the data dir

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def db(self):
        return self.app.db

    @property
    def inst(self):
        """What services take (gancio_like/instance.py)."""
        return self.app.instance

    def config(self):
        (self.root / "fync.toml").write_text("")
        overrides = {
            ("server", "data_dir"): str(self.root / "data"), ("server", "public_url"): self.base,
            ("federation", "enabled"): self.enabled,
            ("federation", "allow_private_addresses"): self.allow_private}
        if self.database_url:
            overrides[("database", "url")] = self.database_url
        return load_config(str(self.root / "fync.toml"), env={}, overrides=overrides)

    async def open(self) -> "Instance":
        if pg_helpers.SERVER_URL and not self.database_url:
            # pg_helpers runs its admin SQL on a loop of its own: off this loop's thread.
            self.database_url = await asyncio.get_running_loop().run_in_executor(
                None, pg_helpers.create_database)
        cfg = self.config()
        self.app = await make_app(await open_instance(cfg))
        self.app.passwords.hasher = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        self.closed = False
        self.serve()
        return self

    def serve(self) -> None:
        """Listen again (the first time, on the socket bound in __init__)."""
        sockets = [self.sock] if self.sock is not None else bind_sockets(self.port, "127.0.0.1")
        self.sock = None
        self.server = HTTPServer(self.app)
        self.server.add_sockets(sockets)

    async def stop_serving(self) -> None:
        """Unreachable from now on: connections are refused (the app and its worker go on)."""
        self.server.stop()
        await self.server.close_all_connections()
        self.server = None

    def start_worker(self, **options) -> None:
        self.app.federation.start(**{**FAST, **options})

    async def close(self) -> None:
        """Everything stops, as at shutdown: worker, server, database."""
        await self.app.federation.stop()
        if self.server is not None:
            await self.stop_serving()
        await self.app.db.close()
        self.closed = True

    async def dispose(self) -> None:
        """Test clean-up, whatever state the instance is in. The schema is dropped only
        after close(): a pooled connection still open would hold the DROP up."""
        try:
            if self.app is not None and not self.closed:
                await self.close()
        finally:
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            self.http.close()
            if self.database_url:
                url, self.database_url = self.database_url, ""
                await asyncio.get_running_loop().run_in_executor(None, pg_helpers.drop_database, url)

    async def restart(self) -> None:
        """A new process, as far as the data is concerned: close, then open the same dir and port."""
        await self.close()
        await self.open()

    async def person(self, name: str) -> Person:
        user_id = await create_user(self.app.db, self.app.passwords, name, PASSWORD)
        browser = Browser(self.http, self.base)
        await browser.login(name)
        client = await register(browser, scope="profile friends:read friends:write")
        token = (await full_flow(browser, client, scope=RW))["access_token"]
        return Person(self, name, user_id, browser, token)

    async def count(self, sql: str, params=()) -> int:
        return await self.db.fetchval(sql, params)


async def eventually(check, seconds: float = 15, every: float = 0.05):
    """Await `check()` until it returns something truthy → that; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still {result!r} after {seconds} s")
        await asyncio.sleep(every)


# -- signing by hand ----------------------------------------------------------------------------

async def signed_post(sender: Person, url: str, activity: dict, *, body: bytes | None = None,
                      key_id: str | None = None, date: float | None = None, headers_list: str | None = None,
                      algorithm: str | None = None, drop: tuple = (), digest_of: bytes | None = None,
                      private_pem: str | None = None, content_type: str = "application/activity+json") -> Response:
    """POST `activity` to `url` signed with `sender`'s key — or broken in one chosen way."""
    body = json.dumps(activity).encode() if body is None else body
    pair = await keys.key_pair(sender.instance.db, sender.id)
    key_id = key_id or f"{sender.actor}#main-key"
    now = time.time() if date is None else date
    names = (headers_list or "(request-target) host date digest").split()
    signed_body = digest_of if digest_of is not None else body
    target = "/" + url.split("/", 3)[3]
    values = {"host": url.split("/")[2], "date": formatdate(now, usegmt=True),
              "digest": signatures.body_digest(signed_body)}
    lines = "\n".join(f"{n}: post {target}" if n == "(request-target)" else f"{n}: {values[n]}" for n in names)
    signature = keys.sign(private_pem or pair.private_pem, lines.encode(), None if private_pem else sender.id)
    header = (f'keyId="{key_id}",algorithm="{algorithm or "rsa-sha256"}",headers="{" ".join(names)}",'
              f'signature="{base64.b64encode(signature).decode()}"')
    headers = {"Date": values["date"], "Digest": values["digest"], "Signature": header,
               "Content-Type": content_type}
    for name in drop:
        headers.pop(name, None)
    request = HTTPRequest(url, method="POST", body=body, headers=headers)
    return Response(await sender.instance.http.fetch(request, raise_error=False))


def follow(sender: Person, recipient: Person, follow_id: str | None = None) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
            "id": follow_id or f"{sender.instance.base}/activities/{time.monotonic_ns()}",
            "actor": sender.actor, "object": recipient.actor}
