"""`fync doctor` checks `[mail]` by connecting as Fync would — EHLO, STARTTLS, login —
and sends nothing (SPEC §1; issue 19 item 5). The SMTP password is never shown."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from gancio_like.config import Config, MailConfig
from gancio_like.services import doctor
from smtp_helpers import PASSWORD, USER, SmtpServer, free_port
from test_cli import clean_env, fync


def config(**mail) -> Config:
    return dataclasses.replace(Config(), mail=MailConfig(**mail))


def check(cfg: Config, server: SmtpServer | None = None) -> doctor.Check:
    return asyncio.run(doctor.mail(cfg, server.client_tls() if server else None))


@pytest.fixture
def starttls(tmp_path):
    server = SmtpServer(tmp_path, security="starttls", login=True).start()
    yield server
    server.stop()


def test_off_without_a_host():
    found = check(Config())
    assert found.status == "skip" and "host is empty" in found.detail and "[mail] host" in found.fix


def test_starttls_and_login_pass_and_nothing_is_sent(starttls):
    found = check(config(host="localhost", port=starttls.port, username=USER, password=PASSWORD), starttls)
    assert found.status == "ok", found
    assert "logged in as fync-mailer" in found.detail and PASSWORD not in found.detail
    assert starttls.inbox.messages == []


def test_a_wrong_password_fails_without_showing_it(starttls):
    found = check(config(host="localhost", port=starttls.port, username=USER, password="wrong-pw-1234"), starttls)
    assert found.status == "fail" and "refused the login" in found.detail and "password" in found.fix
    assert "wrong-pw-1234" not in found.detail + found.fix


def test_a_server_without_starttls_fails_when_starttls_is_asked(tmp_path):
    server = SmtpServer(tmp_path, security="none").start()
    try:
        found = check(config(host="localhost", port=server.port, security="starttls"), server)
        assert found.status == "fail" and "STARTTLS" in found.detail.upper()
    finally:
        server.stop()


def test_nothing_listening_fails_with_a_fix():
    found = check(config(host="127.0.0.1", port=free_port(), security="none"))
    assert found.status == "fail" and "connect" in found.detail.lower() and "port" in found.fix


def test_plain_smtp_to_another_machine_is_a_warning(tmp_path, monkeypatch):
    server = SmtpServer(tmp_path, security="none").start()
    try:
        # Loopback is fine in clear; any other host would see the password go by.
        monkeypatch.setattr(doctor, "is_loopback_host", lambda host: False)
        found = check(config(host="127.0.0.1", port=server.port, security="none"), server)
        assert found.status == "warn" and "in clear" in found.detail
    finally:
        server.stop()


def test_the_command_reports_it_and_never_prints_the_password(tmp_path, starttls):
    (tmp_path / "fync.toml").write_text(
        f'[server]\ndata_dir = "data"\n[mail]\nhost = "localhost"\nport = {starttls.port}\n'
        f'username = "{USER}"\npassword = "{PASSWORD}"\n')
    # Fync trusts the system's certificate store; here, the test server's certificate.
    result = fync(tmp_path, "doctor", "--time-url", "http://127.0.0.1:9/",
                  env=clean_env(SSL_CERT_FILE=str(starttls.cert)))
    line = next(line for line in result.stdout.splitlines() if line.split()[1:2] == ["mail"])
    assert line.startswith("ok") and "logged in as fync-mailer" in line, result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert starttls.inbox.messages == []
