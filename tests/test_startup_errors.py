"""SPEC §1: a startup error prints one line and `fync serve` exits non-zero within 5 s.

Real `fync serve` processes, on SQLite and (with FYNC_TEST_DATABASE_URL) on PostgreSQL:
a process that printed its error but stayed alive would look "running" to systemd.
"""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from serve_helpers import FYNC, clean_env, free_port

TEST_PLUGINS = Path(__file__).parent / "plugins"
LIMIT = 5.0  # seconds, SPEC §1

# A plugin named like a core scope family, declaring one the core already grants.
SCOPE_CLASH = '''from gancio_like.plugins import hookimpl


@hookimpl
def fync_scopes():
    return {"event:read": "Read events (again)"}
'''


def serve(root: Path, database_url: str, config: str = "", port: int | None = None):
    """`fync serve` in `root` → (exit code, stderr lines, seconds it took)."""
    (root / "fync.toml").write_text(f'[server]\ndata_dir = "data"\n{config}')
    env = clean_env(FYNC_DATABASE_URL=database_url) if database_url else clean_env()
    started = time.monotonic()
    try:
        proc = subprocess.run([FYNC, "serve", "--config", str(root / "fync.toml"),
                               "--port", str(port or free_port())],
                              capture_output=True, text=True, cwd=root, env=env, timeout=30)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"fync serve still running after 30 s; stderr: {exc.stderr!r}") from None
    return proc.returncode, proc.stderr.strip().splitlines(), time.monotonic() - started


def assert_stops(result, *named: str) -> None:
    code, lines, seconds = result
    assert code != 0, lines
    assert len(lines) == 1 and lines[0].startswith("fync: error: "), lines
    assert all(word in lines[0] for word in named), lines
    assert seconds < LIMIT, f"took {seconds:.1f} s to exit: {lines}"


def plugins(paths: list, enabled: list) -> str:
    return f"[plugins]\npaths = {[str(p) for p in paths]!r}\nenabled = {enabled!r}\n".replace("'", '"')


def test_plugin_route_clash(tmp_path, database_url):
    assert_stops(serve(tmp_path, database_url, plugins([TEST_PLUGINS], ["clash_route"])),
                 "clash_route", "/api/me", "clashes")


def test_plugin_scope_clash(tmp_path, database_url):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "event.py").write_text(SCOPE_CLASH)
    result = serve(tmp_path, database_url, plugins([tmp_path / "mine"], ["event"]))
    assert_stops(result, "plugin 'event': scope 'event:read' is already declared by 'core'")


def test_unknown_plugin(tmp_path, database_url):
    assert_stops(serve(tmp_path, database_url, plugins([TEST_PLUGINS], ["nosuch"])), "nosuch", "not found")


def test_port_in_use(tmp_path, database_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_stops(serve(tmp_path, database_url, port=port), f"127.0.0.1:{port}", "cannot listen")


def test_bad_config_value(tmp_path, database_url):
    assert_stops(serve(tmp_path, database_url, '[oauth]\nregistration = "sometimes"\n'), "registration")
