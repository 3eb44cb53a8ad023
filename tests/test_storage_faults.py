"""Storage faults (SECURITY-CHECKLIST (b) disk full; issue 10 item 5), on `fync serve`.

- A full disk: the data folder is a small tmpfs (needs root with mount rights; the
  test skips without them and leaves no mount behind). Writes answer 503
  `temporarily_unavailable` with a log line, issue no token they could not store,
  reads keep working, and once space returns everything works again; the database
  passes `integrity_check`.
- A read-only database file (`chattr +i` as root, `chmod 0444` otherwise): the
  server starts and reads, writes answer 503 with a log line, and a restart after
  the file is writable again recovers.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from serve_helpers import Account, FyncServer, basic

EVENT = {"title": "written on a full disk?", "start_datetime": 2_000_000_000}


@contextlib.contextmanager
def small_filesystem(path: Path, size: str = "8m"):
    """A size-limited tmpfs at `path`, always unmounted afterwards; skips where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a size-limited file system needs root (mount -t tmpfs)")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path) -> Path:
    """Write a file until the file system is full → the file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:
        for size in (1 << 20, 1 << 16, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                continue
    return filler


def refresh(http: httpx.Client, client: dict, refresh_token: str) -> httpx.Response:
    return http.post("/oauth/token", headers=basic(client),
                     data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "temporarily_unavailable", r.text
    assert int(r.headers["Retry-After"]) > 0
    assert "access_token" not in r.text


def assert_writes_refused(alice: Account, client: dict, tokens: dict) -> None:
    assert_unavailable(refresh(alice.http, client, tokens["refresh_token"]))
    assert_unavailable(alice.http.post("/api/events", json=EVENT, headers=bearer(tokens["access_token"])))
    assert_unavailable(alice.http.post("/oauth/register", json={"redirect_uris": ["https://app.example/cb"]}))
    login = httpx.post(alice.base + "/login", headers={"Cookie": "_xsrf=x"},
                       data={"username": "alice", "password": "correct horse battery", "_xsrf": "x"})
    assert login.status_code == 503, login.text  # a session cannot be stored: a page that says so


def assert_reads_work(alice: Account, tokens: dict) -> None:
    assert alice.http.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert alice.http.get("/api/events").status_code == 200
    assert alice.http.get("/").status_code == 200


def set_up(server: FyncServer) -> tuple[Account, dict, dict]:
    alice = Account(server.url, "alice").signup()
    client = alice.register()
    return alice, client, alice.tokens(client)


def test_a_full_disk_answers_503_and_recovers_when_space_returns(tmp_path):
    root = tmp_path / "instance"
    with small_filesystem(root / "data") as data:
        server = FyncServer(root)
        try:
            server.start()
            alice, client, tokens = set_up(server)
            server.terminate()  # checkpointed: the next writes need new room in the WAL
            server.start()
            stored = server.query("SELECT count(*) FROM tokens")[0][0]
            filler = fill(data)
            assert_writes_refused(alice, client, tokens)
            assert_reads_work(alice, tokens)
            assert server.query("SELECT count(*) FROM tokens")[0][0] == stored  # nothing issued unstored
            assert "storage unavailable" in server.log and "full" in server.log
            filler.unlink()
            # The refresh token refused above was not spent: space is back, it works.
            r = refresh(alice.http, client, tokens["refresh_token"])
            assert r.status_code == 200, r.text
            assert alice.http.post("/api/events", json=EVENT, headers=bearer(r.json()["access_token"])).status_code == 201
            assert server.terminate() == 0
            assert server.integrity() == ("ok", [])
            alice.close()
        finally:
            server.stop()


@contextlib.contextmanager
def read_only(path: Path):
    """The file cannot be written, even by root (immutable), or by mode bits otherwise."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not supported on this file system")
        undo = ["chattr", "-i", str(path)]
    else:
        path.chmod(0o444)
        undo = None
    try:
        yield
    finally:
        subprocess.run(undo, check=True) if undo else path.chmod(0o644)


@pytest.fixture
def stopped(tmp_path):
    """An instance with alice, an app and her tokens, stopped cleanly."""
    server = FyncServer(tmp_path / "instance").start()
    alice, client, tokens = set_up(server)
    assert server.terminate() == 0
    yield server, alice, client, tokens
    server.stop()
    alice.close()


def test_a_read_only_database_serves_reads_and_answers_writes_503(stopped):
    server, alice, client, tokens = stopped
    with read_only(server.db_path):
        server.start()
        assert_reads_work(alice, tokens)
        assert_writes_refused(alice, client, tokens)
        assert "storage unavailable" in server.log and "readonly" in server.log
        assert server.terminate() == 0
    server.start()  # writable again: a restart recovers
    assert refresh(alice.http, client, tokens["refresh_token"]).status_code == 200
    assert server.terminate() == 0
    assert server.integrity() == ("ok", [])


def test_a_database_made_writable_again_recovers_without_a_restart(stopped):
    server, alice, client, tokens = stopped
    with read_only(server.db_path):
        server.start()
        assert_unavailable(refresh(alice.http, client, tokens["refresh_token"]))
    r = refresh(alice.http, client, tokens["refresh_token"])
    assert r.status_code == 200, r.text
