"""`gancio_like.client` against the live app (SPEC §8): registration kept and
reused, PKCE authorization URL, callback checks (state, RFC 9207 `iss`, errors),
code exchange, renewal on expiry, revocation, the credentials file and the
loopback listener. The test plays the person with the `browser` fixture.
"""
from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from tornado.httpclient import AsyncHTTPClient

from gancio_like import clock
from gancio_like.client import (App, AuthorizationError, CredentialsError, CredentialStore, LoginExpired,
                                LoginTimeout, LoopbackReceiver, NotLoggedIn, StateMismatch, TokenError, Tokens,
                                WrongIssuer, default_path)
from oauth_helpers import consent, count, token_request

TTL = 600  # access_token_ttl here: long enough for the real clock, short enough to move past
CALLBACK = "http://127.0.0.1:9/callback"  # nothing listens: the test reads the redirect itself


@pytest.fixture
def config_overrides():
    return {("oauth", "access_token_ttl"): TTL}


@pytest.fixture
def store(tmp_path):
    return CredentialStore(tmp_path / "config" / "fync" / "credentials.json")


class Clock:
    """The client's clock seam: real time plus `ahead` seconds."""

    def __init__(self):
        self.ahead = 0

    def __call__(self) -> float:
        return time.time() + self.ahead


@pytest.fixture
def client_clock():
    return Clock()


@pytest.fixture
def capp(store, client_clock):
    return App("Library test", store, clock=client_clock)


@pytest.fixture
def domain(base_url):
    return urlsplit(base_url).netloc


@pytest.fixture
def alice(io_loop, browser, make_user):
    """alice exists and `browser` is logged in as her."""
    io_loop.run_sync(lambda: make_user("alice"))
    io_loop.run_sync(lambda: browser.login("alice"))


async def start(capp, domain, scope="profile"):
    return await capp.begin(domain, scope, CALLBACK)


async def allow(browser, request, decision="allow") -> str:
    """Play the person: consent in the browser → the redirect URL back to the app."""
    r = await consent(browser, request.url, decision=decision)
    assert r.code in (302, 303), r.text
    assert r.location.startswith(CALLBACK + "?")
    return r.location


async def logged_in(browser, capp, domain, scope="profile"):
    request = await start(capp, domain, scope)
    return await capp.complete(request, await allow(browser, request))


def with_params(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    query = {k: v for k, v in query.items() if v is not None}
    return urlunsplit(parts._replace(query=urlencode(query)))


# -- the authorization request -------------------------------------------------------------------


@pytest.mark.gen_test
async def test_authorization_url_uses_pkce_s256_and_random_state(alice, capp, domain, base_url):
    first, second = await start(capp, domain), await start(capp, domain)
    assert first.url.startswith(f"{base_url}/oauth/authorize?")
    q = {k: v[0] for k, v in parse_qs(urlsplit(first.url).query).items()}
    assert q["response_type"] == "code" and q["code_challenge_method"] == "S256"
    assert q["redirect_uri"] == CALLBACK and q["scope"] == "profile"
    assert len(q["code_challenge"]) == 43 and q["code_challenge"] != first.code_verifier
    assert q["state"] == first.state and len(first.state) >= 32
    assert first.state != second.state and first.code_verifier != second.code_verifier


@pytest.mark.gen_test
async def test_registers_a_public_client_once_and_reuses_it(alice, capp, store, domain, db):
    first, second = await start(capp, domain), await start(capp, domain)
    assert first.client_id == second.client_id
    assert await count(db, "clients") == 1
    client = store.get(domain)["client"]
    assert client["client_id"] == first.client_id and "client_secret" not in client
    assert client["redirect_uri"] == "http://127.0.0.1/callback"
    assert client["registration_access_token"]


@pytest.mark.gen_test
async def test_a_wider_scope_replaces_the_registration(alice, capp, store, domain, db):
    first = await start(capp, domain, "profile")
    wider = await start(capp, domain, "friends:read")
    assert wider.client_id != first.client_id
    assert set(store.get(domain)["client"]["scope"].split()) == {"profile", "friends:read"}
    assert await count(db, "clients") == 1  # the old registration was deleted (RFC 7592)


@pytest.mark.gen_test
async def test_a_deleted_registration_is_made_again(alice, capp, store, domain, db):
    first = await start(capp, domain)
    await db.execute("DELETE FROM clients")  # an admin deleted the app
    again = await start(capp, domain)
    assert again.client_id != first.client_id and await count(db, "clients") == 1


# -- the callback -------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_full_login_flow(alice, browser, capp, store, domain, base_url):
    request = await start(capp, domain)
    callback = await allow(browser, request)
    assert parse_qs(urlsplit(callback).query)["iss"] == [base_url]
    session = await capp.complete(request, callback)
    me = await session.get("/api/me")
    assert me["username"] == "alice" and me["acct"] == f"alice@{domain}"
    entry = store.get(domain)
    assert entry["user"] == {"username": "alice", "acct": f"alice@{domain}"}
    assert entry["instance"]["issuer"] == base_url
    assert entry["tokens"]["access_token"] == session.tokens.access_token
    assert entry["tokens"]["refresh_token"] and entry["tokens"]["scope"] == "profile"
    assert TTL - 60 < entry["tokens"]["expires_at"] - time.time() <= TTL + 1
    assert capp.user(domain) == entry["user"]


@pytest.mark.gen_test
async def test_a_stored_login_is_usable_by_another_app_object(alice, browser, store, domain):
    await logged_in(browser, App("Library test", store), domain)
    session = App("Library test", store).session(domain)
    assert (await session.get("/api/me"))["username"] == "alice"


@pytest.mark.gen_test
async def test_state_mismatch_is_refused(alice, browser, capp, domain, store):
    request = await start(capp, domain)
    callback = await allow(browser, request)
    for forged in (with_params(callback, state="forged"), with_params(callback, state=None)):
        with pytest.raises(StateMismatch, match="state does not match"):
            await capp.complete(request, forged)
    assert "tokens" not in store.get(domain)


@pytest.mark.gen_test
async def test_iss_mismatch_is_refused(alice, browser, capp, domain):
    request = await start(capp, domain)
    callback = await allow(browser, request)
    with pytest.raises(WrongIssuer, match="mix-up"):
        await capp.complete(request, with_params(callback, iss="https://evil.example"))


@pytest.mark.gen_test
async def test_missing_iss_is_refused_when_the_instance_promised_it(alice, browser, capp, domain):
    request = await start(capp, domain)
    callback = await allow(browser, request)
    with pytest.raises(WrongIssuer):
        await capp.complete(request, with_params(callback, iss=None))


@pytest.mark.gen_test
async def test_repeated_parameters_are_refused(alice, browser, capp, domain):
    request = await start(capp, domain)
    callback = await allow(browser, request)
    with pytest.raises(AuthorizationError, match="repeats code"):
        await capp.complete(request, callback + "&code=other")


@pytest.mark.gen_test
async def test_a_denial_is_surfaced(alice, browser, capp, domain):
    request = await start(capp, domain)
    callback = await allow(browser, request, decision="deny")
    with pytest.raises(AuthorizationError, match="denied") as caught:
        await capp.complete(request, callback)
    assert caught.value.error == "access_denied"


@pytest.mark.gen_test
async def test_an_error_description_is_surfaced(alice, capp, domain, base_url):
    request = await start(capp, domain)
    callback = f"{CALLBACK}?" + urlencode({"error": "invalid_scope", "error_description": "no such scope: x",
                                          "state": request.state, "iss": base_url})
    with pytest.raises(AuthorizationError, match=r"refused the login: invalid_scope \(no such scope: x\)"):
        await capp.complete(request, callback)


@pytest.mark.gen_test
async def test_a_code_is_exchanged_once(alice, browser, capp, domain):
    request = await start(capp, domain)
    callback = await allow(browser, request)
    await capp.complete(request, callback)
    with pytest.raises(TokenError, match="invalid_grant"):
        await capp.complete(request, callback)


@pytest.mark.gen_test
async def test_without_profile_scope_the_user_is_unknown(alice, browser, capp, domain):
    session = await logged_in(browser, capp, domain, scope="friends:read")
    assert session.tokens.scopes() == {"friends:read"}
    assert capp.user(domain) is None


# -- renewal and revocation -----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_an_expired_token_is_renewed_before_the_call(alice, browser, capp, store, domain, client_clock,
                                                           monkeypatch):
    session = await logged_in(browser, capp, domain)
    old = session.tokens
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + TTL + 10)  # the server's clock
    client_clock.ahead = TTL + 10
    assert old.expired(client_clock())
    assert (await session.get("/api/me"))["username"] == "alice"
    assert session.tokens.access_token != old.access_token
    assert session.tokens.refresh_token != old.refresh_token  # rotated
    assert store.get(domain)["tokens"]["refresh_token"] == session.tokens.refresh_token  # saved at once


@pytest.mark.gen_test
async def test_a_token_the_server_calls_expired_is_renewed_and_the_call_retried(alice, browser, capp, store,
                                                                                domain, monkeypatch):
    session = await logged_in(browser, capp, domain)
    old = session.tokens
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + TTL + 10)  # only the server's clock
    assert not old.expired(time.time())
    assert (await session.get("/api/me"))["username"] == "alice"
    assert session.tokens.access_token != old.access_token
    assert store.get(domain)["tokens"]["access_token"] == session.tokens.access_token


@pytest.mark.gen_test
async def test_the_old_refresh_token_is_spent_after_renewal(alice, browser, capp, domain):
    session = await logged_in(browser, capp, domain)
    old = session.tokens
    await session.refresh()
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": old.refresh_token},
                            session.client.client_id)
    assert r.code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.gen_test
async def test_revoke_ends_the_login(alice, browser, capp, domain):
    session = await logged_in(browser, capp, domain)
    refresh_token = session.tokens.refresh_token
    await session.revoke()
    with pytest.raises(LoginExpired, match=f"the login at {domain} has ended"):
        await session.get("/api/me")
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                            session.client.client_id)
    assert r.json()["error"] == "invalid_grant"


@pytest.mark.gen_test
async def test_logout_revokes_and_forgets_the_login(alice, browser, capp, store, domain, db):
    session = await logged_in(browser, capp, domain)
    assert await capp.logout(f"https://{domain}/".replace("https", "http")) == domain
    assert "tokens" not in store.get(domain) and "user" not in store.get(domain)
    with pytest.raises(NotLoggedIn, match=f"not logged in to {domain}"):
        capp.session(domain)
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": session.tokens.refresh_token},
                            session.client.client_id)
    assert r.json()["error"] == "invalid_grant"
    again = await start(capp, domain)  # the registration is kept and reused
    assert again.client_id == session.client.client_id and await count(db, "clients") == 1


@pytest.mark.gen_test
async def test_a_stored_login_is_found_by_handle(alice, browser, capp, domain):
    await logged_in(browser, capp, domain)
    assert capp.session(f"@alice@{domain}").domain == domain


def test_not_logged_in(capp):
    with pytest.raises(NotLoggedIn, match="not logged in to example.org"):
        capp.session("example.org")


def test_token_expiry_has_a_leeway():
    tokens = Tokens("a", "r", expires_at=1000.0)
    assert not tokens.expired(900) and tokens.expired(980) and tokens.expired(1000)
    assert not Tokens("a", expires_at=None).expired(10 ** 12)


# -- the whole login through the loopback listener ----------------------------------------------


@pytest.mark.gen_test(timeout=20)
async def test_login_through_the_loopback_listener(alice, browser, capp, domain):
    http = AsyncHTTPClient()
    pages = []

    async def person(url: str) -> None:
        r = await consent(browser, url)
        assert r.location.startswith("http://127.0.0.1:")
        page = await http.fetch(r.location, raise_error=False)
        pages.append((page.code, page.body.decode()))

    tasks = []
    session = await capp.login(domain, on_url=lambda url: tasks.append(asyncio.ensure_future(person(url))))
    await asyncio.gather(*tasks)
    assert pages[0][0] == 200 and "close this tab" in pages[0][1]
    assert (await session.get("/api/me"))["username"] == "alice"


@pytest.mark.gen_test(timeout=20)
async def test_the_listener_ignores_answers_to_other_logins(io_loop):
    http = AsyncHTTPClient()
    async with LoopbackReceiver() as receiver:
        assert receiver.redirect_uri.startswith("http://127.0.0.1:")
        waiting = asyncio.ensure_future(receiver.wait("the-state", timeout=10))
        stray = await http.fetch(receiver.redirect_uri + "?code=x&state=other", raise_error=False)
        assert stray.code == 400 and not waiting.done()
        good = await http.fetch(receiver.redirect_uri + "?code=x&state=the-state", raise_error=False)
        assert good.code == 200 and good.headers["Cache-Control"] == "no-store"
        assert parse_qs(urlsplit(await waiting).query) == {"code": ["x"], "state": ["the-state"]}


@pytest.mark.gen_test
async def test_the_listener_gives_up_after_the_timeout(io_loop):
    async with LoopbackReceiver() as receiver:
        with pytest.raises(LoginTimeout, match="within 0.2 s"):
            await receiver.wait("s", timeout=0.2)


# -- Client ID Metadata Document instead of registration ------------------------------------------


@pytest.mark.gen_test
async def test_a_metadata_document_replaces_registration(alice, browser, store, domain, db):
    import tornado.web
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port
    sock, port = bind_unused_port()
    url = f"http://127.0.0.1:{port}/client.json"
    doc = {"client_id": url, "client_name": "Doc CLI", "client_uri": f"http://127.0.0.1:{port}/",
           "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"}

    class Doc(tornado.web.RequestHandler):
        def get(self):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(doc))
    server = HTTPServer(tornado.web.Application([(r"/client.json", Doc)]))
    server.add_sockets([sock])
    try:
        capp = App("Doc CLI", store, metadata_document_url=url)
        request = await start(capp, domain)
        assert request.client_id == url
        session = await capp.complete(request, await allow(browser, request))
        assert (await session.get("/api/me"))["username"] == "alice"
        assert await count(db, "clients", "source = 'rfc7591'") == 0
    finally:
        server.stop()


# -- the credentials file -----------------------------------------------------------------------


def test_credentials_file_is_private_from_creation(tmp_path):
    store = CredentialStore(tmp_path / "fync" / "credentials.json")
    old = os.umask(0)  # even a careless umask must not widen it
    try:
        store.put("example.org", {"tokens": {"access_token": "secret"}})
    finally:
        os.umask(old)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert json.loads(store.path.read_text())["instances"]["example.org"]["tokens"]["access_token"] == "secret"


def test_credentials_writes_replace_the_file_and_leave_no_temp_files(tmp_path):
    store = CredentialStore(tmp_path / "credentials.json")
    store.put("a.example", {"n": 1})
    inode = store.path.stat().st_ino
    store.put("B.example", {"n": 2})
    assert store.path.stat().st_ino != inode  # a new file renamed over the old one
    assert store.domains() == ["a.example", "b.example"]
    store.forget("a.example")
    assert store.domains() == ["b.example"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.json", "credentials.json.lock"]


def test_a_broken_credentials_file_is_a_clear_error(tmp_path):
    store = CredentialStore(tmp_path / "credentials.json")
    store.path.write_text("{not json")
    with pytest.raises(CredentialsError, match="cannot read"):
        store.get("example.org")
    store.path.write_text("[]")
    with pytest.raises(CredentialsError, match="not a credentials file"):
        store.get("example.org")


def test_default_path_honours_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home_default = tmp_path / "home" / ".config" / "fync" / "credentials.json"
    assert default_path(env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg" / "fync" / "credentials.json"
    assert default_path(env={}) == home_default
    assert default_path(env={"XDG_CONFIG_HOME": "relative"}) == home_default
    assert default_path("other-app", env={}).parent.name == "other-app"
