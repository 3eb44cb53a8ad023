"""Operations (issue 11 §1, §4): `GET /health`, `fync stats`, and X-Forwarded-* believed
only from the proxies listed in `[server] trusted_proxies`."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

from gancio_like.config import ConfigError, load_config
from gancio_like.proxies import TrustedProxies
from gancio_like.services import ops
from gancio_like.services.avatars import UPLOAD_BODY_LIMIT
from gancio_like.storage.errors import Unavailable
from gancio_like.storage.migrate import Migration
from oauth_helpers import api, full_flow, register, revoke
from test_cli import add_user, assert_one_line_error, fync, instance  # noqa: F401  (fixture)

# -- GET /health ------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_health_ok(browser):
    r = await browser.get("/health")
    assert r.code == 200
    assert r.json() == {"status": "ok", "database": "ok", "migrations": "current"}
    assert r.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Set-Cookie" not in r.headers


@pytest.mark.gen_test
async def test_health_head(browser):
    r = await browser.request("HEAD", "/health")
    assert r.code == 200 and r.body == b""


@pytest.mark.gen_test
async def test_health_503_when_a_migration_is_pending(browser, app, monkeypatch):
    extra = Migration("core", "9999_later.sql", "CREATE TABLE later (x);")
    monkeypatch.setattr(app, "migrations", [*app.migrations, extra])
    r = await browser.get("/health")
    assert r.code == 503
    assert r.json() == {"status": "error", "database": "ok", "migrations": "pending", "pending": 1}


@pytest.mark.gen_test
async def test_health_503_when_the_code_knows_no_core_migration(browser, app, monkeypatch):
    """An empty list would otherwise compare as "current" against an empty schema."""
    monkeypatch.setattr(app, "migrations", [m for m in app.migrations if m.owner != "core"])
    r = await browser.get("/health")
    assert r.code == 503
    assert r.json() == {"status": "error", "database": "unknown", "migrations": "missing", "missing": "core"}


@pytest.mark.gen_test
async def test_health_503_when_an_applied_migration_differs(browser, app, monkeypatch):
    edited = [Migration(m.owner, m.name, m.sql + "\n-- edited") for m in app.migrations]
    monkeypatch.setattr(app, "migrations", edited)
    r = await browser.get("/health")
    assert r.code == 503 and r.json()["migrations"] == "pending"


@pytest.mark.gen_test
async def test_health_503_when_the_database_is_unreachable(browser, monkeypatch, caplog):
    async def broken(db):
        raise Unavailable("disk I/O error")
    monkeypatch.setattr(ops.stats_store, "list_applied_migrations", broken)
    r = await browser.get("/health")
    assert r.code == 503
    assert r.json() == {"status": "error", "database": "unreachable", "migrations": "unknown"}


@pytest.mark.gen_test
async def test_health_503_when_the_database_hangs(browser, monkeypatch):
    async def stuck(db):
        await asyncio.sleep(5)
    monkeypatch.setattr(ops.stats_store, "list_applied_migrations", stuck)
    monkeypatch.setattr(ops, "HEALTH_TIMEOUT", 0.05)
    r = await browser.get("/health")
    assert r.code == 503 and r.json()["database"] == "timeout"


@pytest.mark.gen_test
async def test_health_takes_no_write_lock(browser, db, monkeypatch):
    """It is polled: it must never queue behind (or hold up) the writer."""
    async with db._write_lock:
        r = await asyncio.wait_for(browser.get("/health"), 2)
    assert r.code == 200


# -- stats --------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_stats_counts_what_is_live(browser, make_user, db):
    await make_user("alice")
    await make_user("bob")
    await browser.login("alice")
    client = await register(browser)
    await register(browser)
    kept = await full_flow(browser, client)
    ended = await full_flow(browser, client)
    assert (await revoke(browser, client, ended["refresh_token"])).code == 200
    counts = await ops.stats(db)
    assert counts["users"] == 2
    assert counts["clients"] == counts["clients_active"] == 2
    assert counts["active_access_tokens"] == 1 and counts["active_refresh_tokens"] == 1
    assert counts["active_tokens"] == 2
    assert counts["sessions"] == 1
    assert (await api(browser, "/api/me", kept["access_token"])).code == 200


@pytest.mark.gen_test
async def test_stats_counts_queued_deliveries_only(db):
    uid = await db.execute("INSERT INTO users (username, password_hash, created_at) VALUES ('q', 'x', 0)")
    uid = await db.fetchval("SELECT id FROM users WHERE username = 'q'")
    for delivered, gave_up in ((None, None), (None, None), (5, None), (None, 5)):
        await db.execute("INSERT INTO deliveries (user_id, recipient, activity, created_at, next_attempt_at, "
                         "delivered_at, gave_up_at) VALUES (?, 'b@remote.example', '{}', 0, 0, ?, ?)",
                         (uid, delivered, gave_up))
    assert (await ops.stats(db))["queued_deliveries"] == 2


def test_fync_stats_command(instance):  # noqa: F811
    add_user(instance, "alice")
    result = fync(instance, "stats")
    assert result.returncode == 0, result.stderr
    assert "users" in result.stdout and "queued_deliveries" in result.stdout
    data = json.loads(fync(instance, "stats", "--json").stdout)
    assert data["users"] == 1 and data["active_tokens"] == 0


def test_fync_stats_without_a_database(instance):  # noqa: F811
    assert_one_line_error(fync(instance, "stats"), "no database")
    assert not (instance / "data" / "fync.db").exists()


@pytest.mark.parametrize("command", [["restore"], ["stats"], ["doctor"]])
def test_new_commands_have_help(tmp_path, command):
    result = fync(tmp_path, *command, "--help", config=False)
    assert result.returncode == 0 and result.stdout.startswith("usage: fync")


def test_fync_help_lists_the_new_commands(tmp_path):
    text = fync(tmp_path, "--help", config=False).stdout
    for name in ("restore", "stats", "doctor"):
        assert name in text


# -- [server] trusted_proxies ------------------------------------------------------------------


def test_trusted_proxies_default_is_none(tmp_path):
    (tmp_path / "fync.toml").write_text("")
    assert load_config(str(tmp_path / "fync.toml"), env={}).server.trusted_proxies == []


def test_trusted_proxies_from_file_and_env(tmp_path):
    (tmp_path / "fync.toml").write_text('[server]\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8"]\n')
    assert load_config(str(tmp_path / "fync.toml"), env={}).server.trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]
    cfg = load_config(str(tmp_path / "fync.toml"), env={"FYNC_SERVER_TRUSTED_PROXIES": "::1, 192.168.1.2"})
    assert cfg.server.trusted_proxies == ["::1", "192.168.1.2"]


@pytest.mark.parametrize("text", ['["nginx"]', '["10.0.0.0/33"]', '"127.0.0.1"', "[1]"])
def test_bad_trusted_proxies_are_refused_naming_the_key(tmp_path, text):
    (tmp_path / "fync.toml").write_text(f"[server]\ntrusted_proxies = {text}\n")
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_config(str(tmp_path / "fync.toml"), env={})


def request(peer: str, **headers) -> HTTPServerRequest:
    class Context:
        remote_ip, protocol = peer, "http"

    class Connection:
        context = Context()
    return HTTPServerRequest(start_line=RequestStartLine("GET", "/", "HTTP/1.1"), headers=HTTPHeaders(Host="fync.example", **headers),
                             connection=Connection())


@pytest.mark.parametrize("trusted,peer,xff,proto,ip,scheme", [
    ([], "127.0.0.1", "203.0.113.7", "https", "127.0.0.1", "http"),              # default: believe nothing
    (["10.0.0.1"], "198.51.100.9", "203.0.113.7", "https", "198.51.100.9", "http"),  # not from the proxy
    (["127.0.0.1"], "127.0.0.1", "203.0.113.7", "https", "203.0.113.7", "https"),
    (["127.0.0.1"], "127.0.0.1", "6.6.6.6, 203.0.113.7", "https", "203.0.113.7", "https"),  # forged left part
    (["127.0.0.1", "10.0.0.0/8"], "127.0.0.1", "203.0.113.7, 10.1.2.3", "http", "203.0.113.7", "http"),
    (["127.0.0.1"], "127.0.0.1", "not-an-ip", "gopher", "127.0.0.1", "http"),    # garbage: ignored
    (["127.0.0.1"], "127.0.0.1", "garbage, 203.0.113.7", "https", "203.0.113.7", "https"),
    (["::1"], "::1", "2001:db8::5", "https", "2001:db8::5", "https"),
    (["127.0.0.1"], "::ffff:127.0.0.1", "203.0.113.7", "https", "203.0.113.7", "https"),  # dual-stack peer
])
def test_forwarded_headers_only_from_listed_proxies(trusted, peer, xff, proto, ip, scheme):
    req = request(peer, **{"X-Forwarded-For": xff, "X-Forwarded-Proto": proto})
    TrustedProxies(trusted).apply(req)
    assert (req.remote_ip, req.protocol) == (ip, scheme)


class TestThroughTheApp:
    """The test client connects from 127.0.0.1; the access log shows the address Fync believed."""

    @pytest.fixture
    def config_overrides(self):
        return {("server", "trusted_proxies"): ["127.0.0.1"]}

    @pytest.mark.gen_test
    async def test_listed_proxy_is_believed(self, browser, caplog):
        caplog.set_level(logging.INFO, "fync.access")
        await browser.get("/health", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7",
                                              "X-Forwarded-Proto": "https"})
        assert "ip=203.0.113.7" in caplog.records[-1].getMessage()


@pytest.mark.gen_test
async def test_unlisted_peer_is_not_believed(browser, caplog):
    caplog.set_level(logging.INFO, "fync.access")
    await browser.get("/health", headers={"X-Forwarded-For": "203.0.113.7"})
    assert "ip=127.0.0.1" in caplog.records[-1].getMessage()


@pytest.mark.gen_test
async def test_invented_forwarded_addresses_do_not_dodge_the_login_limit(browser, app, make_user):
    """Without trusted proxies, a client can't dodge the per-IP login limit by inventing addresses."""
    await make_user("alice")
    limit = app.cfg.security.login_failures_per_minute
    for n in range(limit + 1):
        r = await browser.post("/login", {"username": f"nobody{n}", "password": "wrong password"},
                               headers={"X-Forwarded-For": f"203.0.113.{n}"})
    assert r.code == 429


# -- deploy/: what docs/deploy.md installs stays in step with Fync --------------------------------

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_deploy_config_is_a_valid_public_instance():
    cfg = load_config(str(DEPLOY / "fync.toml"), env={})
    assert cfg.server.public_url.startswith("https://") and cfg.server.host == "127.0.0.1"
    assert cfg.data_dir == Path("/var/lib/fync")
    assert "127.0.0.1" in cfg.server.trusted_proxies


def test_nginx_site_matches_fync():
    site = (DEPLOY / "nginx" / "fync.conf").read_text()
    cfg = load_config(str(DEPLOY / "fync.toml"), env={})
    size = re.search(r"client_max_body_size (\d+)m;", site).group(1)
    assert int(size) << 20 == cfg.server.max_body_size
    assert f"server 127.0.0.1:{cfg.server.port};" in site
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "Host"):
        assert re.search(rf"proxy_set_header {header} ", site)
    assert "access_log off;" in site  # nginx's would keep query strings whole
    # An avatar upload: as much as Fync takes on POST /settings, and nowhere else.
    upload = re.search(r"location = /settings \{\s*client_max_body_size (\d+)m;\s*proxy_pass http://fync;", site)
    assert upload and int(upload.group(1)) << 20 == UPLOAD_BODY_LIMIT
    assert site.count("client_max_body_size") == 2 and site.count("proxy_pass http://fync;") == 2


def test_service_is_hardened_and_writes_only_the_data_dir():
    unit = dict(line.split("=", 1) for line in (DEPLOY / "fync.service").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    assert unit["User"] == "fync" and unit["NoNewPrivileges"] == "yes"
    assert unit["ProtectSystem"] == "strict" and unit["ReadWritePaths"] == "/var/lib/fync"
    assert unit["ExecStart"].endswith("fync serve") and unit["KillSignal"] == "SIGTERM"


def test_the_template_unit_deploy_md_makes_runs_one_process_per_port():
    """docs/deploy.md, "Several processes": its `sed` turns the service into fync@.service,
    the same unit but for the port each instance serves on."""
    section = (DEPLOY.parent / "docs" / "deploy.md").read_text().split("## Several processes")[1]
    expressions = re.findall(r"-e '(s\|[^']*)'", section)
    assert len(expressions) == 2, expressions
    sed = ["sed"] + [arg for e in expressions for arg in ("-e", e)] + [str(DEPLOY / "fync.service")]
    template = subprocess.run(sed, capture_output=True, text=True, check=True).stdout.splitlines()
    service = (DEPLOY / "fync.service").read_text().splitlines()
    changed = {(old, new) for old, new in zip(service, template) if old != new}
    assert len(template) == len(service) and len(changed) == 2
    assert ("ExecStart=/opt/fync/bin/fync serve", "ExecStart=/opt/fync/bin/fync serve --port %i") in changed
    assert any(new.startswith("Description=") and "%i" in new for _, new in changed)


@pytest.mark.parametrize("script", ["fync", "fync-backup"])
def test_deploy_scripts_parse(script):
    assert subprocess.run(["sh", "-n", str(DEPLOY / script)]).returncode == 0
    assert os.access(DEPLOY / script, os.X_OK)
    assert "FYNC_BACKUP" not in (DEPLOY / script).read_text()  # FYNC_* names are config keys


def test_deploy_files_run_the_fync_deploy_md_installs():
    """docs/deploy.md installs Fync into the venv /opt/fync (no editable checkout); every
    deploy/ file must run that copy, and the backup script from where the doc puts it."""
    doc = (DEPLOY.parent / "docs" / "deploy.md").read_text()
    assert "python3 -m venv /opt/fync\n" in doc and "pip install -e" not in doc
    assert "REPOSITORY-ADDRESS" not in doc  # the clone URL is explained, not a placeholder
    for name in ("fync.service", "fync", "fync-backup"):
        assert "/opt/fync/bin/fync" in (DEPLOY / name).read_text(), name
    assert "ExecStart=/usr/local/sbin/fync-backup" in (DEPLOY / "fync-backup.service").read_text()
    assert "deploy/fync-backup /usr/local/sbin/fync-backup" in doc
