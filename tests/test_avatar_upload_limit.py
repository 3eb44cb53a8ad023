"""An avatar of up to 5 MB gets through `fync serve`'s body limit ([server] max_body_size,
1 MiB by default) on POST /settings, and only there (httpguard.py `larger_bodies`).
A real server process, real multipart uploads."""
from __future__ import annotations

import pytest

from image_helpers import noise_jpeg
from serve_helpers import Account, FyncServer

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    server = FyncServer(tmp_path_factory.mktemp("uploads")).start()
    alice = Account(server.url, "alice").signup()
    yield server, alice
    alice.close()
    server.stop()
    assert "Traceback" not in server.log, server.log[-3000:]


def send(alice: Account, data: bytes, path: str = "/settings"):
    return alice.http.post(path, data={"_xsrf": alice.xsrf()}, files={"avatar": ("photo.jpg", data, "image/jpeg")})


def version(server: FyncServer) -> int:
    return server.query("SELECT avatar_version FROM users WHERE username = 'alice'")[0][0]


def test_a_4_9_mb_picture_is_taken(instance):
    server, alice = instance
    data = noise_jpeg(int(4.9 * MIB))
    assert 4.8 * MIB < len(data) <= 4.9 * MIB  # far past the 1 MiB every other form gets
    before = version(server)
    resp = send(alice, data)
    assert resp.status_code == 303, resp.text[:500]
    assert version(server) > before
    assert alice.http.get(f"/avatars/alice?v={version(server)}").headers["Content-Type"] == "image/jpeg"


def test_a_5_1_mb_picture_is_refused_on_the_page(instance):
    server, alice = instance
    before = version(server)
    resp = send(alice, noise_jpeg(int(5.1 * MIB)))
    assert resp.status_code == 400 and "larger than 5 MB" in resp.text
    assert version(server) == before


def test_a_much_larger_body_gets_413_before_it_is_read(instance):
    server, alice = instance
    resp = send(alice, b"\0" * (7 * MIB))
    assert resp.status_code == 413 and resp.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/friends/requests", "/login", "/settings/apps/revoke", "/api/friends/requests"])
def test_other_paths_keep_the_1_mib_limit(instance, path):
    _, alice = instance
    resp = send(alice, b"\0" * (2 * MIB), path)
    assert resp.status_code == 413, (path, resp.status_code)

