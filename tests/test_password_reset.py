"""Password reset by mail and the optional email on /settings (SPEC §2 "More about
accounts"), against a real SMTP server (aiosmtpd): the same answer whether or not an
account matched, a single-use link valid for an hour and stored as a digest only, at most
3 mails an hour, every session and app grant ended, and a failing SMTP server that never
fails a request."""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import re
import time

import pytest

from gancio_like import clock, mail
from gancio_like.mail import Mailer
from oauth_helpers import api, full_flow, register
from smtp_helpers import PASSWORD as SMTP_PASSWORD, USER as SMTP_USER, SilentServer, SmtpServer, free_port

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"(http://\S+/password/reset\?token=([A-Za-z0-9_-]+))")


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def config_overrides(smtp):
    return {("mail", "host"): "127.0.0.1", ("mail", "port"): smtp.port, ("mail", "security"): "none",
            ("mail", "from"): "Club <club@example.org>"}


async def account(make_user, db, name: str, email: str | None) -> int:
    user_id = await make_user(name)
    if email:
        await db.execute("UPDATE users SET email = ? WHERE id = ?", (email, user_id))
    return user_id


async def forgot(app, browser, login: str):
    resp = await browser.post("/password/forgot", {"login": login})
    await app.background.drain(30)
    return resp


def link_in(message) -> tuple[str, str]:
    found = LINK.search(message.get_content())
    assert found, message.get_content()
    return found.group(1), found.group(2)


@pytest.mark.gen_test(timeout=30)
async def test_forgot_mails_a_link_that_sets_a_new_password_once(app, browser, make_browser, make_user, db, smtp):
    await account(make_user, db, "alice", "Alice@Example.org")
    resp = await forgot(app, browser, "alice")
    assert resp.code == 303 and resp.location == "/password/forgot?sent=1"
    assert "Check your mail" in (await browser.get(resp.location)).text
    [message] = smtp.inbox.messages
    assert message["To"] == "Alice@Example.org" and message["From"] == "Club <club@example.org>"
    assert "Reset your password" in message["Subject"]
    url, token = link_in(message)
    assert url.startswith(app.cfg.issuer + "/password/reset?token=")

    page = await browser.get(url)
    assert page.code == 200 and page.headers["Cache-Control"] == "no-store"
    assert page.form_value("token") == token
    done = await browser.post("/password/reset", {"token": token, "new_password": NEW_PASSWORD})
    assert done.code == 303 and done.location == "/login?reset=1"
    assert "Your password was changed" in (await browser.get("/login?reset=1")).text
    assert (await make_browser().post("/login", {"username": "alice", "password": PASSWORD})).code == 401
    assert (await make_browser().post("/login", {"username": "alice", "password": NEW_PASSWORD})).code == 303

    again = await browser.post("/password/reset", {"token": token, "new_password": "yet another passphrase"})
    assert again.code == 400 and "expired or was already used" in again.text
    assert (await browser.get(url)).code == 400


@pytest.mark.gen_test(timeout=30)
async def test_an_email_in_any_case_finds_the_account(app, browser, make_user, db, smtp):
    await account(make_user, db, "alice", "Alice@Example.org")
    await forgot(app, browser, "  alice@EXAMPLE.org ")
    assert [m["To"] for m in smtp.inbox.messages] == ["Alice@Example.org"]


@pytest.mark.gen_test(timeout=30)
async def test_the_answer_is_the_same_whether_or_not_an_account_matched(app, browser, make_user, db, smtp):
    await account(make_user, db, "alice", "alice@example.org")
    await account(make_user, db, "bob", None)  # an account without an address

    def shape(resp) -> tuple:
        return resp.code, resp.location, resp.body, tuple(sorted(k for k in resp.headers if k.lower() != "date"))
    answers = {login: shape(await forgot(app, browser, login))
               for login in ("alice", "alice@example.org", "bob", "nobody", "nobody@example.org")}
    assert len(set(answers.values())) == 1, answers
    assert [m["To"] for m in smtp.inbox.messages] == ["alice@example.org"] * 2
    assert await db.fetchval("SELECT count(*) FROM password_resets") == 2


@pytest.mark.gen_test(timeout=30)
async def test_the_answer_never_waits_for_the_mail(app, browser, make_user, db, monkeypatch, caplog):
    """An SMTP server that never answers: the form still answers at once (the lookup, the
    link and the mail come after it), and the failure is logged, not lost."""
    silent = SilentServer()
    monkeypatch.setattr(mail, "TIMEOUT", 3.0)
    app.mailer = Mailer(dataclasses.replace(app.cfg.mail, port=silent.port), retry_delays=())
    await account(make_user, db, "alice", "alice@example.org")
    try:
        started = time.monotonic()
        resp = await browser.post("/password/forgot", {"login": "alice"})
        assert resp.code == 303 and time.monotonic() - started < 1.0
        assert len(app.background) == 1  # still waiting for the server's greeting
        with caplog.at_level(logging.WARNING, logger="fync.mail"):
            assert await app.background.drain(30)
        assert "gave up sending the password reset link of alice (try 1): no answer within 3 s" in caplog.text
    finally:
        silent.close()


@pytest.mark.gen_test(timeout=30)
async def test_an_unreachable_smtp_server_is_logged_and_the_request_still_succeeds(
        app, browser, make_user, db, caplog):
    nobody = free_port()  # nothing listens there: connection refused
    app.mailer = Mailer(dataclasses.replace(app.cfg.mail, port=nobody), retry_delays=(0, 0))
    await account(make_user, db, "alice", "alice@example.org")
    with caplog.at_level(logging.WARNING, logger="fync.mail"):
        resp = await forgot(app, browser, "alice")
    assert resp.code == 303
    gave_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(gave_up) == 1 and "gave up sending the password reset link of alice (try 3)" in gave_up[0].getMessage()


@pytest.mark.gen_test(timeout=30)
async def test_only_the_digest_of_the_token_is_stored(app, browser, make_user, db, smtp):
    await account(make_user, db, "alice", "alice@example.org")
    await forgot(app, browser, "alice")
    _, token = link_in(smtp.inbox.messages[0])
    [row] = await db.fetchall("SELECT token_hash, created_at, expires_at, used_at FROM password_resets")
    assert bytes(row["token_hash"]) == hashlib.sha256(token.encode()).digest()
    assert row["expires_at"] - row["created_at"] == 3600 and row["used_at"] is None
    if db.dialect == "sqlite":
        await db.checkpoint()
        assert token.encode() not in db.path.read_bytes()


@pytest.mark.gen_test(timeout=30)
async def test_a_link_expires_after_an_hour(app, browser, make_user, db, smtp, monkeypatch):
    await account(make_user, db, "alice", "alice@example.org")
    await forgot(app, browser, "alice")
    url, token = link_in(smtp.inbox.messages[0])
    later = clock.now() + 3601
    monkeypatch.setattr(clock, "now", lambda: later)
    assert (await browser.get(url)).code == 400
    resp = await browser.post("/password/reset", {"token": token, "new_password": NEW_PASSWORD})
    assert resp.code == 400 and "expired" in resp.text
    assert (await browser.post("/login", {"username": "alice", "password": PASSWORD})).code == 303


@pytest.mark.gen_test(timeout=30)
async def test_at_most_three_mails_an_hour_per_account(app, browser, make_user, db, smtp, monkeypatch, caplog):
    await account(make_user, db, "alice", "alice@example.org")
    for _ in range(4):
        assert (await forgot(app, browser, "alice")).code == 303
    assert len(smtp.inbox.messages) == 3
    assert "3 links in the last hour already" in caplog.text
    later = clock.now() + 3601
    monkeypatch.setattr(clock, "now", lambda: later)
    await forgot(app, browser, "alice")
    assert len(smtp.inbox.messages) == 4


@pytest.mark.gen_test(timeout=30)
async def test_a_new_password_ends_every_session_and_app_grant(app, browser, make_browser, make_user, db, smtp):
    await account(make_user, db, "alice", "alice@example.org")
    elsewhere = make_browser()
    await elsewhere.login("alice")
    client = await register(elsewhere, scope="profile")
    token = (await full_flow(elsewhere, client, scope="profile"))["access_token"]
    assert (await api(elsewhere, "/api/me", token)).code == 200

    await forgot(app, browser, "alice")
    _, link_token = link_in(smtp.inbox.messages[0])
    assert (await browser.post("/password/reset", {"token": link_token, "new_password": NEW_PASSWORD})).code == 303
    assert (await elsewhere.get("/settings")).code == 302  # logged out: sent to /login
    assert (await api(elsewhere, "/api/me", token)).code == 401


@pytest.mark.gen_test(timeout=30)
async def test_a_reset_with_a_short_password_keeps_the_link(app, browser, make_user, db, smtp):
    await account(make_user, db, "alice", "alice@example.org")
    await forgot(app, browser, "alice")
    _, token = link_in(smtp.inbox.messages[0])
    resp = await browser.post("/password/reset", {"token": token, "new_password": "short"})
    assert resp.code == 400 and resp.form_value("token") == token and "8" in resp.text
    assert (await browser.post("/password/reset", {"token": token, "new_password": NEW_PASSWORD})).code == 303


@pytest.mark.gen_test(timeout=30)
async def test_a_made_up_token_opens_nothing(browser, make_user):
    await make_user("alice")
    for token in ("", "x", "A" * 43, "A" * 5000):
        assert (await browser.get(f"/password/reset?token={token}")).code == 400
        resp = await browser.post("/password/reset", {"token": token, "new_password": NEW_PASSWORD})
        assert resp.code == 400 and "expired or was already used" in resp.text


@pytest.mark.gen_test(timeout=30)
async def test_at_most_ten_requests_an_hour_from_one_address(app, browser, make_user, db, smtp):
    await account(make_user, db, "alice", "alice@example.org")
    codes = [(await forgot(app, browser, name)).code for name in ["nobody"] * 10 + ["alice"]]
    assert codes == [303] * 10 + [429]
    assert smtp.inbox.messages == [] and len(app.background) == 0


@pytest.mark.gen_test
async def test_the_forgot_form_needs_its_xsrf_field(browser):
    assert (await browser.post("/password/forgot", {"login": "alice"}, xsrf=False)).code == 403


# -- mail off -------------------------------------------------------------------------------------

class TestWithoutMail:
    @pytest.fixture
    def config_overrides(self):
        return {}

    @pytest.mark.gen_test
    async def test_the_form_says_the_admin_can_reset_passwords(self, app, browser, make_user, db):
        await account(make_user, db, "alice", "alice@example.org")
        page = await browser.get("/password/forgot")
        assert page.code == 200 and "fync user passwd" in page.text and 'name="login"' not in page.text
        resp = await browser.post("/password/forgot", {"login": "alice"})
        assert resp.code == 303 and len(app.background) == 0
        assert await db.fetchval("SELECT count(*) FROM password_resets") == 0

    @pytest.mark.gen_test
    async def test_login_links_to_it(self, browser):
        assert 'href="/password/forgot"' in (await browser.get("/login")).text


# -- TLS and logging in -------------------------------------------------------------------------

@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_out_over_tls_with_a_login(tmp_path, security, caplog):
    from gancio_like.config import MailConfig
    from gancio_like.mail import compose
    server = SmtpServer(tmp_path, security=security, login=True).start()
    try:
        settings = MailConfig(host="localhost", port=server.port, security=security, username=SMTP_USER,
                              password=SMTP_PASSWORD)
        mailer = Mailer(settings, server.client_tls(), retry_delays=())
        message = compose(settings, "alice@example.org", "Hello", "Just testing.", "fync.example.org")
        with caplog.at_level(logging.DEBUG):
            assert asyncio.run(mailer.deliver(message, "a test mail"))
        [got] = server.inbox.messages
        assert got["Subject"] == "Hello" and got["Message-ID"].endswith("@fync.example.org>")

        wrong = MailConfig(host="localhost", port=server.port, security=security, username=SMTP_USER,
                           password="the-wrong-password-xyz")
        with caplog.at_level(logging.DEBUG):
            assert not asyncio.run(Mailer(wrong, server.client_tls(), retry_delays=()).deliver(message, "another"))
        assert "refused the login" in caplog.text
        assert "the-wrong-password-xyz" not in caplog.text and SMTP_PASSWORD not in caplog.text
    finally:
        server.stop()


def test_an_untrusted_certificate_is_refused(tmp_path):
    from gancio_like.config import MailConfig
    from gancio_like.mail import MailError, send, compose
    server = SmtpServer(tmp_path, security="starttls").start()
    try:
        settings = MailConfig(host="localhost", port=server.port, security="starttls")
        message = compose(settings, "alice@example.org", "Hello", "Just testing.", "fync.example.org")
        with pytest.raises(MailError, match="certificate"):
            asyncio.run(send(settings, message))  # the system's trust store does not know it
        assert server.inbox.messages == []
    finally:
        server.stop()
