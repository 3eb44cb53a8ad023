"""`fync serve` as a real process, and clients for it: an HTTP account that signs up and
runs the OAuth code flow (httpx, cookies kept), and raw sockets for requests no
HTTP library would send or for releasing many requests at the same instant.

Used by the reliability suites (crash safety, races, fuzzing, hostile HTTP, shutdown).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import httpx

FYNC = str(Path(sys.executable).with_name("fync"))
PASSWORD = "correct horse battery"
REDIRECT = "https://app.example/cb"
ALL_SCOPES = "profile friends:read friends:write event:read event:write checkins:read checkins:write"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FYNC_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


class FyncServer:
    """`fync serve` on a loopback port with its data in `root/data`; restartable on the same port."""

    def __init__(self, root: Path, **env):
        self.root, self.env = Path(root), env
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "fync.toml").write_text('[server]\ndata_dir = "data"\n')
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.root / "data" / "fync.db"

    @property
    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.root.glob("err-*.txt")))

    def start(self, seconds: float = 30) -> "FyncServer":
        self.starts += 1
        out = self.root / f"out-{self.starts}.txt"
        err = self.root / f"err-{self.starts}.txt"
        with out.open("w") as o, err.open("w") as e:
            self.proc = subprocess.Popen(
                [FYNC, "serve", "--config", str(self.root / "fync.toml"), "--port", str(self.port)],
                stdout=o, stderr=e, cwd=self.root, env=clean_env(**self.env))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if "plugins:" in out.read_text():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"fync serve did not start (exit {self.proc.poll()}): {err.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed but what SQLite already wrote."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, seconds: float = 15) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=seconds)

    def stop(self) -> None:
        """Test clean-up: whatever state the process is in, it is gone afterwards."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                self.kill()

    def query(self, sql: str, params=()) -> list[tuple]:
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def integrity(self) -> tuple[str, list]:
        """(PRAGMA integrity_check, PRAGMA foreign_key_check rows)."""
        return self.query("PRAGMA integrity_check")[0][0], self.query("PRAGMA foreign_key_check")


# -- the OAuth code flow over HTTP --------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def basic(client: dict) -> dict:
    cred = f"{urllib.parse.quote(client['client_id'], safe='')}:{urllib.parse.quote(client['client_secret'], safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(cred.encode()).decode()}


def digest(token: str) -> bytes:
    """How the server stores a token (SPEC §3: SHA-256 digests only)."""
    return hashlib.sha256(token.encode()).digest()


class Account:
    """A person with a browser: signs up, logs in, registers an app and authorizes it."""

    def __init__(self, base_url: str, username: str):
        self.base, self.username = base_url, username
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)

    def close(self) -> None:
        self.http.close()

    def xsrf(self) -> str:
        if "_xsrf" not in self.http.cookies:
            self.http.get("/login")
        return self.http.cookies["_xsrf"]

    def signup(self) -> "Account":
        r = self.http.post("/signup", data={"_xsrf": self.xsrf(), "username": self.username,
                                            "password": PASSWORD, "display_name": self.username})
        assert r.status_code in (302, 303), r.text
        return self

    def register(self, scope: str = ALL_SCOPES) -> dict:
        r = self.http.post("/oauth/register", json={"redirect_uris": [REDIRECT], "client_name": "Reliability",
                                                    "scope": scope})
        assert r.status_code == 201, r.text
        return r.json()

    def code(self, client: dict, scope: str = ALL_SCOPES) -> tuple[str, str]:
        """Authorize (showing consent if needed) → (code, verifier)."""
        verifier, challenge = pkce_pair()
        query = urllib.parse.urlencode({"response_type": "code", "client_id": client["client_id"],
                                        "redirect_uri": REDIRECT, "scope": scope, "state": "s",
                                        "code_challenge": challenge, "code_challenge_method": "S256"})
        r = self.http.get("/oauth/authorize?" + query)
        if r.status_code == 200:
            request_id = re.search(r'name="request_id" value="([^"]+)"', r.text).group(1)
            ticked = re.findall(r'name="scope" value="([^"]+)" checked', r.text)
            fields = [("_xsrf", self.xsrf()), ("request_id", request_id), ("decision", "allow")]
            r = self.http.post("/oauth/authorize", content=form(fields + [("scope", s) for s in ticked]),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code in (302, 303), r.text
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))
        return params["code"], verifier

    def tokens(self, client: dict, scope: str = ALL_SCOPES) -> dict:
        """A new grant: authorize, then exchange the code → the token response."""
        code, verifier = self.code(client, scope)
        r = self.http.post("/oauth/token", headers=basic(client), data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT})
        assert r.status_code == 200, r.text
        return r.json()


def form(params) -> bytes:
    return urllib.parse.urlencode(params).encode()


# -- raw sockets -----------------------------------------------------------------------------------


def raw_request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    """One HTTP/1.1 request as bytes, `Connection: close`."""
    head = {"Host": "127.0.0.1", "Connection": "close", **(headers or {})}
    if body or method in ("POST", "PUT"):
        head.setdefault("Content-Length", str(len(body)))
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in head.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RawResponse:
    def __init__(self, data: bytes):
        self.raw = data
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1]) if lines[0].startswith("HTTP/") else 0
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.body[:200]!r}>"


async def read_all(reader: asyncio.StreamReader, seconds: float = 30) -> bytes:
    return await asyncio.wait_for(reader.read(), seconds)


async def send_together(port: int, requests: list[bytes]) -> list[RawResponse]:
    """Open one connection per request, send all but the last byte of each, then the
    last bytes back to back: the server sees them as close to simultaneous as it can."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in requests]
    for (_, writer), data in zip(conns, requests):
        writer.write(data[:-1])
        await writer.drain()
    await asyncio.sleep(0.05)
    for (_, writer), data in zip(conns, requests):
        writer.write(data[-1:])
    for _, writer in conns:
        await writer.drain()
    replies = await asyncio.gather(*(read_all(reader) for reader, _ in conns))
    for _, writer in conns:
        writer.close()
    return [RawResponse(r) for r in replies]
