"""`fync doctor` (issue 11 §5): config, public_url, reachability, the data folder,
pending migrations and the clock — each with what to fix, and never a write."""
from __future__ import annotations

import contextlib
import email.utils
import os
import sqlite3
import time

import pytest
import tornado.httpserver
import tornado.web
from tornado.testing import bind_unused_port

from gancio_like.services import doctor
from test_backup_restore import serve
from test_cli import add_user, database, fync
from test_upgrade import load_first_schema


def write_config(root, **server) -> None:
    lines = ["[server]", 'data_dir = "data"'] + [f"{k} = {v!r}".replace("'", '"') for k, v in server.items()]
    (root / "fync.toml").write_text("\n".join(lines) + "\n")


def checks(result) -> dict[str, str]:
    """{check name: status} from doctor's output."""
    found = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].lower() in ("ok", "warn", "fail", "skip"):
            found[parts[1]] = parts[0].lower()
    return found


@pytest.fixture
def instance(tmp_path):
    write_config(tmp_path)
    assert add_user(tmp_path, "alice").returncode == 0
    return tmp_path


def test_a_healthy_local_instance_has_no_problem(instance):
    proc, port = serve(instance)
    try:
        write_config(instance, port=port)  # so public_url is where it listens
        result = fync(instance, "doctor", "--time-url", f"http://127.0.0.1:{port}/health")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert result.returncode == 0, result.stdout
    found = checks(result)
    assert found["config"] == "ok" and found["reachable"] == "ok" and found["migrations"] == "ok"
    assert found["public_url"] == "warn"  # http is fine on loopback only
    assert found["clock"] in ("ok", "warn")  # warn only where timedatectl says NTP is off


def test_nothing_listening_is_a_problem_with_a_fix(instance):
    write_config(instance, port=bind_unused_port()[1])
    result = fync(instance, "doctor")
    assert result.returncode == 1
    assert checks(result)["reachable"] == "fail"
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL") and "reachable" in line)
    assert lines[at + 1].strip().startswith("fix:")
    assert "problem" in lines[-1]


def test_plain_http_public_url_on_a_real_domain_fails(instance):
    write_config(instance, public_url="http://fync.example.org")
    result = fync(instance, "doctor", "--offline")
    assert result.returncode == 1 and checks(result)["public_url"] == "fail"
    assert "https://fync.example.org" in result.stdout
    assert checks(result)["reachable"] == "skip"


def test_behind_a_proxy_without_trusted_proxies_is_a_warning(instance):
    write_config(instance, public_url="https://fync.example.org")
    found = checks(fync(instance, "doctor", "--offline"))
    assert found["public_url"] == "ok" and found["trusted_proxies"] == "warn"
    write_config(instance, public_url="https://fync.example.org", trusted_proxies=["127.0.0.1"])
    assert "trusted_proxies" not in checks(fync(instance, "doctor", "--offline"))


def test_pending_migrations_are_reported_not_applied(tmp_path):
    write_config(tmp_path)
    load_first_schema(database(tmp_path))
    result = fync(tmp_path, "doctor", "--offline")
    assert checks(result)["migrations"] == "warn"
    assert "fync migrate" in result.stdout and "0003_friends.sql" in result.stdout
    assert fync(tmp_path, "migrate", "--check").returncode == 1  # still pending


def test_an_edited_migration_fails(instance):
    with contextlib.closing(sqlite3.connect(database(instance))) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE name = '0001_accounts.sql'")
        conn.commit()
    result = fync(instance, "doctor", "--offline")
    assert result.returncode == 1 and checks(result)["migrations"] == "fail"


def test_doctor_writes_nothing(instance, tmp_path):
    before = database(instance).read_bytes()
    fync(instance, "doctor", "--offline")
    assert database(instance).read_bytes() == before
    empty = tmp_path / "empty"
    empty.mkdir()
    write_config(empty)
    result = fync(empty, "doctor", "--offline")
    assert checks(result)["data_dir"] == "ok" and "first start" in result.stdout
    assert not (empty / "data").exists()


def test_open_secret_key_fails_and_open_folder_warns(instance):
    secret = instance / "data" / "secret.key"
    secret.write_text("x\n")
    os.chmod(secret, 0o644)
    os.chmod(instance / "data", 0o777)
    result = fync(instance, "doctor", "--offline")
    assert checks(result)["secret.key"] == "fail" and "chmod 600" in result.stdout
    assert checks(result)["data_dir"] == "warn"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_data_dir_fails(instance):
    os.chmod(instance / "data", 0o500)
    try:
        assert checks(fync(instance, "doctor", "--offline"))["data_dir"] == "fail"
    finally:
        os.chmod(instance / "data", 0o700)


def test_low_disk(tmp_path, monkeypatch):
    usage = type("Usage", (), {"free": 10 << 20})
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: usage)
    assert doctor._free_space(tmp_path).status == "fail"
    usage.free = 300 << 20
    assert doctor._free_space(tmp_path).status == "warn"


# -- the clock ---------------------------------------------------------------------------------


@pytest.mark.parametrize("skew,synced,status", [
    (0.4, True, "ok"), (0.4, None, "ok"), (-45, True, "warn"), (1, False, "warn"),
    (None, None, "warn"), (None, True, "ok"), (400, True, "fail"), (-301, None, "fail"),
])
def test_clock_verdicts(skew, synced, status):
    check = doctor.clock(skew, synced)
    assert check.status == status
    assert (check.fix != "") == (status != "ok")


class SkewedDate(tornado.web.RequestHandler):
    def head(self):
        self.set_header("Date", email.utils.formatdate(time.time() - 600, usegmt=True))


@pytest.mark.gen_test
async def test_remote_skew_reads_a_servers_date_header():
    sock, port = bind_unused_port()
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/", SkewedDate)]))
    server.add_sockets([sock])
    try:
        skew = await doctor.remote_skew(f"http://127.0.0.1:{port}/")
    finally:
        server.stop()
    assert 595 < skew < 605
    assert await doctor.remote_skew(f"http://127.0.0.1:{bind_unused_port()[1]}/") is None


# -- what a reachability answer means ------------------------------------------------------------


@pytest.mark.parametrize("code,location,body,status,words", [
    (200, None, b'{"status": "ok", "database": "ok", "migrations": "current"}', "ok", "healthy"),
    (503, None, b'{"status": "error", "database": "ok", "migrations": "pending"}', "fail", "fync migrate"),
    (301, "https://fync.example.org/health", b"", "fail", "public_url"),
    (404, None, b"<html>Welcome to nginx!</html>", "fail", "proxy_pass"),
    (502, None, b"<html>Bad Gateway</html>", "fail", "proxy_pass"),
])
def test_health_answers_are_judged(code, location, body, status, words):
    check = doctor._judge_health("https://fync.example.org/health", code, location, body)
    assert check.status == status
    assert words in check.detail + check.fix


def test_an_unreadable_database_is_one_failed_check_not_a_crash(tmp_path):
    write_config(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fync.db").write_bytes(b"this is not a database" * 100)
    result = fync(tmp_path, "doctor", "--offline")
    assert result.returncode == 1
    found = checks(result)
    assert found["migrations"] == "fail" and found["config"] == "ok"  # the other checks still ran
    assert "cannot read" in result.stdout
    assert (tmp_path / "data" / "fync.db").read_bytes().startswith(b"this is not")  # nothing written
