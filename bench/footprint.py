"""Memory and disk of an idle Fync instance, and of one with N users (docs/deploy.md, "What it costs").

    .venv/bin/python bench/footprint.py [--users 10000] [--keep DIR]

1. `fync serve` on an empty data folder: RSS once idle, size of the data folder.
2. Stop it; seed N users through the storage layer (the same functions the
   services call), each with three interests, two friends (the users numbered
   either side), a live web session and an authorized app (a grant, an access and a refresh
   token over 10 registered apps); every fifth user has a published event. Every
   password hash is a real Argon2id hash with Fync's production parameters.
3. `fync serve` again on that database: RSS once idle, and again after each
   user's access token has called /api/me once (every cache as full as N users
   make it), and after one login (an Argon2id check: 64 MiB for a moment; the
   peak, VmHWM, shows it). Disk is measured after a clean stop (WAL checkpointed).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient

from gancio_like import clock
from gancio_like.config import load_config
from gancio_like.oauth.credentials import digest
from gancio_like.plugin_host import PluginHost
from gancio_like.services.accounts import Passwords
from gancio_like.storage import clients, events, friends, migrate, sessions, tokens, users
from gancio_like.storage.db import Database

FYNC = str(Path(sys.executable).with_name("fync"))
BATCH = 500
PASSWORD = "a real password, hashed once"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """Resident memory now (VmRSS), or at its highest so far (VmHWM), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class Server:
    def __init__(self, root: Path):
        self.root, self.port = root, free_port()
        self.proc = None

    def start(self) -> int:
        self.proc = subprocess.Popen([FYNC, "serve", "--config", str(self.root / "fync.toml"),
                                      "--port", str(self.port)], cwd=self.root,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={k: v for k, v in os.environ.items() if not k.startswith("FYNC_")})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return self.proc.pid
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("fync serve did not start")

    def idle_rss(self) -> int:
        time.sleep(3)  # let start-up garbage settle
        return rss_kb(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


async def seed(cfg, n: int) -> list[str]:
    """N users and their rows, through the storage layer → each user's access token."""
    db = await Database(cfg.database_path).open()
    await migrate.apply(db, PluginHost.load(cfg).migrations())
    password_hash = await Passwords().hash(PASSWORD)
    now, access = clock.now(), []
    async with db.transaction() as tx:
        client_pks = [await clients.insert_client(
            tx, client_id=f"app{i}-{secrets.token_hex(8)}", secret_hash=digest(secrets.token_urlsafe(32)),
            registration_token_hash=None, name=f"App {i}", description="", website="https://app.example",
            redirect_uris=["https://app.example/cb"], scopes="profile friends:read event:write",
            auth_method="client_secret_basic", source="portal", status="active", owner_id=None,
            registered_ip=None, now=now) for i in range(10)]
    for start in range(0, n, BATCH):
        async with db.transaction() as tx:
            for i in range(start, min(n, start + BATCH)):
                access.append(await _seed_user(tx, i, password_hash, client_pks[i % 10], now))
    async with db.transaction() as tx:
        for uid in range(1, n):
            await friends.insert_friendship(tx, uid, uid + 1, None, now)
            await friends.insert_friendship(tx, uid + 1, uid, None, now)
    await db.checkpoint()
    await db.close()
    return access


async def _seed_user(tx, i: int, password_hash: str, client_pk: int, now: int) -> str:
    uid = await users.insert_user(tx, f"user{i}", password_hash, f"User {i}", now)
    await users.update_profile(tx, uid, f"User {i}", "Likes things.", ["music", f"tag{i % 50}", f"city{i % 7}"])
    await sessions.insert_session(tx, digest(secrets.token_urlsafe(32)), uid, now, now + 30 * 86400)
    grant = await tokens.insert_grant(tx, client_pk, uid, "profile", now)
    token = secrets.token_urlsafe(32)
    await tokens.insert_token(tx, digest(token), grant, "access", "profile", now, now + 3600)
    await tokens.insert_token(tx, digest(secrets.token_urlsafe(32)), grant, "refresh", "profile", now, None)
    if i % 5 == 0:
        await events.insert_event(tx, uid, {
            "title": f"Meet-up {i}", "description": "Bring snacks.", "start_datetime": now + 86400 * (i % 90),
            "end_datetime": None, "place_name": "The park", "place_address": "", "published": 1,
            "tags": ["music"]}, now)
    return token


async def log_in(port: int, username: str, password: str) -> None:
    """One real login through the form: one Argon2id check at production cost."""
    http = AsyncHTTPClient()
    page = await http.fetch(f"http://127.0.0.1:{port}/login")
    xsrf = next(c.split(";")[0].split("=", 1)[1] for c in page.headers.get_list("Set-Cookie") if c.startswith("_xsrf="))
    body = urllib.parse.urlencode({"_xsrf": xsrf, "username": username, "password": password})
    reply = await http.fetch(f"http://127.0.0.1:{port}/login", method="POST", body=body, raise_error=False,
                             follow_redirects=False, headers={"Cookie": f"_xsrf={xsrf}"})
    assert reply.code in (302, 303), reply.code


async def call_me(port: int, access: list[str]) -> None:
    http = AsyncHTTPClient(max_clients=8)
    for start in range(0, len(access), 8):
        replies = await asyncio.gather(*[http.fetch(f"http://127.0.0.1:{port}/api/me", raise_error=False,
                                                    headers={"Authorization": f"Bearer {t}"})
                                         for t in access[start:start + 8]])
        assert all(r.code == 200 for r in replies), [r.code for r in replies]


def measure(root: Path, n: int) -> dict:
    (root / "fync.toml").write_text('[server]\ndata_dir = "data"\n')
    data = root / "data"
    out = {}
    server = Server(root)
    server.start()
    out["idle_rss_kb"] = server.idle_rss()
    server.stop()
    out["idle_disk_bytes"] = disk_bytes(data)

    cfg = load_config(str(root / "fync.toml"), env={})
    started = time.monotonic()
    access = asyncio.run(seed(cfg, n))
    out["seed_seconds"] = round(time.monotonic() - started, 1)
    server.start()
    out["users"] = n
    out["users_rss_kb"] = server.idle_rss()
    asyncio.run(call_me(server.port, access))
    out["users_warm_rss_kb"] = server.idle_rss()
    asyncio.run(log_in(server.port, "user0", PASSWORD))
    out["after_login_rss_kb"] = server.idle_rss()
    out["peak_rss_kb"] = rss_kb(server.proc.pid, "VmHWM")
    server.stop()
    out["users_disk_bytes"] = disk_bytes(data)
    out["users_db_bytes"] = (data / "fync.db").stat().st_size
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build the instance in this (new) folder and keep it")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True)
        result = measure(args.keep, args.users)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(Path(tmp), args.users)
    print(json.dumps(result, indent=2))
    mb = 1 << 20
    print(f"idle, empty:            RSS {result['idle_rss_kb'] / 1024:.0f} MB, disk {result['idle_disk_bytes'] / mb:.2f} MB")
    print(f"{args.users} users, started: RSS {result['users_rss_kb'] / 1024:.0f} MB, "
          f"disk {result['users_disk_bytes'] / mb:.1f} MB (database {result['users_db_bytes'] / mb:.1f} MB)")
    print(f"{args.users} users, warm:    RSS {result['users_warm_rss_kb'] / 1024:.0f} MB; after a login "
          f"{result['after_login_rss_kb'] / 1024:.0f} MB (peak {result['peak_rss_kb'] / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
