"""The developer portal `/dev` (SPEC §2), used through its forms as a person would."""
import asyncio
import base64
import re
import urllib.parse

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from confirm_helpers import ask, confirm
from gancio_like import clock
from gancio_like.app import make_app, open_instance
from gancio_like.services import apps, housekeeping
from oauth_helpers import REDIRECT, api, consent, pkce_pair, refresh, token_request
from portal_helpers import app_form, authorize_with, build_url, create_app, field, post_form


async def alice_in(browser, make_user, admin=False):
    """A non-admin alice (the first account is admin, so someone else comes first)."""
    await make_user("root", admin=True)
    await make_user("alice", admin=admin)
    await browser.login("alice")


@pytest.mark.gen_test
async def test_pages_need_login(browser):
    for path in ("/dev", "/dev/new", "/dev/apps/abc"):
        r = await browser.get(path)
        assert r.code == 302 and r.location.startswith("/login?next="), path


@pytest.mark.gen_test
async def test_every_post_needs_xsrf(browser, make_user):
    await alice_in(browser, make_user)
    client_id, _ = await create_app(browser)
    for path in ("/dev/new", f"/dev/apps/{client_id}/edit", f"/dev/apps/{client_id}/secret",
                 f"/dev/apps/{client_id}/token", f"/dev/apps/{client_id}/delete"):
        r = await post_form(browser, path, app_form(name="Changed"), xsrf=False)
        assert r.code == 403, path
    assert "Changed" not in (await browser.get(f"/dev/apps/{client_id}")).text
    assert (await browser.get("/dev")).text.count("/dev/apps/") == 1


@pytest.mark.gen_test
async def test_create_shows_secret_once_then_url_builder_runs_a_full_flow(browser, make_browser, make_user,
                                                                          base_url):
    await alice_in(browser, make_user)
    client_id, creds = await create_app(browser, scopes=("profile", "friends:read"))
    assert creds["client_id"] == client_id and len(creds["client_secret"]) >= 43
    again = await browser.get(f"/dev/apps/{client_id}")
    assert creds["client_secret"] not in again.text and field(again, "client-secret") is None
    assert again.headers["Cache-Control"] == "no-store"
    assert "My App" in (await browser.get("/dev")).text

    page = await build_url(browser, client_id, scopes=("profile",), state="st4te")
    url = field(page, "auth-url")
    parts = urllib.parse.urlsplit(url)
    assert url.startswith(base_url + "/oauth/authorize?")
    assert dict(urllib.parse.parse_qsl(parts.query)) == {
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
        "scope": "profile", "state": "st4te"}
    assert 'data-copy="auth-url"' in page.text and "copy.js" in page.text and "<script>" not in page.text

    bob = make_browser()
    await make_user("bob")
    await bob.login("bob")
    tokens = await authorize_with(bob, url, creds)
    assert tokens["scope"] == "profile"
    me = await api(bob, "/api/me", tokens["access_token"])
    assert me.code == 200 and me.json()["username"] == "bob"


@pytest.mark.gen_test
async def test_builder_refuses_what_the_app_did_not_register(browser, make_user):
    await alice_in(browser, make_user)
    client_id, _ = await create_app(browser, scopes=("profile",))
    r = await build_url(browser, client_id, redirect_uri="https://evil.example/cb")
    assert r.code == 400 and field(r, "auth-url") is None and "redirect URI" in r.text
    r = await build_url(browser, client_id, scopes=("friends:write",))
    assert r.code == 400 and field(r, "auth-url") is None
    r = await build_url(browser, client_id, scopes=())
    assert r.code == 400


@pytest.mark.gen_test
async def test_builder_makes_a_random_state_when_left_empty(browser, make_user):
    await alice_in(browser, make_user)
    client_id, _ = await create_app(browser)
    urls = [field(await build_url(browser, client_id, state=""), "auth-url") for _ in range(2)]
    states = [dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(u).query))["state"] for u in urls]
    assert len(states[0]) >= 16 and states[0] != states[1]


def form_tag(page, action: str) -> str:
    m = re.search(r'<form [^>]*action="%s[^"]*"[^>]*>' % re.escape(action), page.text)
    assert m, action
    return m.group(0)


@pytest.mark.gen_test
async def test_forms_beside_a_secret_shown_once_open_a_new_tab(browser, make_user):
    """Building a URL (or minting a token) right after seeing the secret must not lose it:
    while a secret or token is shown, those forms answer in a new tab, and say so."""
    await alice_in(browser, make_user)
    r = await post_form(browser, "/dev/new", app_form())
    client_id = r.location.rsplit("/", 1)[1]
    shown = await browser.get(r.location)
    assert field(shown, "client-secret")
    for action in (f"/dev/apps/{client_id}#builder", f"/dev/apps/{client_id}/token"):
        assert 'target="_blank"' in form_tag(shown, action), action
    assert shown.text.count("Opens in a new tab") == 2
    for action in (f"/dev/apps/{client_id}/secret", f"/dev/apps/{client_id}/delete"):
        assert "target" not in form_tag(shown, action), action  # these end what was shown anyway

    later = await build_url(browser, client_id)  # what the new tab shows: the URL, no secret
    assert field(later, "auth-url") and field(later, "client-secret") is None
    assert "target" not in form_tag(later, f"/dev/apps/{client_id}#builder")
    assert "Opens in a new tab" not in later.text


@pytest.mark.gen_test
async def test_public_client_has_no_secret_and_needs_pkce(browser, make_user):
    await alice_in(browser, make_user)
    client_id, creds = await create_app(browser, client_type="public", redirect_uris="http://127.0.0.1/cb")
    assert creds["client_secret"] is None
    page = await build_url(browser, client_id, redirect_uri="http://127.0.0.1/cb")
    assert "code_challenge_method=S256" in page.text and "Generate a new secret" not in page.text
    verifier, challenge = pkce_pair()
    url = field(page, "auth-url") + "&" + urllib.parse.urlencode(
        {"code_challenge": challenge, "code_challenge_method": "S256"})
    r = await consent(browser, url)
    code = r.location_params()["code"]
    r = await token_request(browser, {"grant_type": "authorization_code", "code": code,
                                      "code_verifier": verifier}, client_id)
    assert r.code == 200, r.text
    assert (await post_form(browser, f"/dev/apps/{client_id}/secret", {})).code == 400


@pytest.mark.gen_test
async def test_new_secret_replaces_the_old_one(browser, make_user):
    await alice_in(browser, make_user)
    client_id, old = await create_app(browser)
    r = await confirm(browser, f"/dev/apps/{client_id}/secret")
    assert r.code == 303 and r.location == f"/dev/apps/{client_id}"
    page = await browser.get(r.location)
    new = {"client_id": client_id, "client_secret": field(page, "client-secret")}
    assert new["client_secret"] and new["client_secret"] != old["client_secret"]
    assert field(await browser.get(r.location), "client-secret") is None

    url = field(await build_url(browser, client_id), "auth-url")
    r = await consent(browser, url)
    params = {"grant_type": "authorization_code", "code": r.location_params()["code"], "redirect_uri": REDIRECT}
    r = await token_request(browser, params, client_id, old["client_secret"])
    assert r.code == 401 and r.json()["error"] == "invalid_client"
    r = await token_request(browser, params, client_id, new["client_secret"])
    assert r.code == 200, r.text


@pytest.mark.gen_test
async def test_edit_saves_and_bad_input_changes_nothing(browser, make_user):
    await alice_in(browser, make_user)
    client_id, _ = await create_app(browser)
    edit = f"/dev/apps/{client_id}/edit"
    form = await browser.get(edit)
    assert form.code == 200 and "https://app.example/cb" in form.text
    r = await post_form(browser, edit, app_form(name="Renamed", redirect_uris="https://app.example/cb\r\n"
                                                "https://app.example/other", scopes=("profile",)))
    assert r.code == 303
    page = await browser.get(r.location)
    assert "Renamed" in page.text and "https://app.example/other" in page.text
    for bad in (app_form(redirect_uris="javascript:alert(1)"), app_form(redirect_uris="http://app.example/cb"),
                app_form(redirect_uris="https://app.example/cb#frag"), app_form(name=""),
                app_form(website="ftp://x"), app_form(scopes=()), app_form(scopes=("nope:read",)),
                app_form(name="Bad\u202eName")):
        r = await post_form(browser, edit, bad)
        assert r.code == 400 and 'class="error"' in r.text, bad
    page = await browser.get(f"/dev/apps/{client_id}")
    assert "Renamed" in page.text and "https://app.example/other" in page.text and "javascript:" not in page.text


@pytest.mark.gen_test
async def test_create_with_bad_input_is_400_and_creates_nothing(browser, make_user, db):
    await alice_in(browser, make_user)
    for bad in (app_form(redirect_uris=""), app_form(redirect_uris="data:text/html,hi"),
                app_form(client_type="weird"), app_form(description="x" * 2001)):
        r = await post_form(browser, "/dev/new", bad)
        assert r.code == 400 and 'class="error"' in r.text, bad
        assert 'name="name" value="My App"' in r.text  # the form keeps what was typed
    assert await db.fetchval("SELECT count(*) FROM clients") == 0


@pytest.mark.gen_test
async def test_other_users_cannot_see_or_change_an_app(browser, make_browser, make_user):
    await alice_in(browser, make_user)
    client_id, creds = await create_app(browser)
    mallory = make_browser()
    await make_user("mallory")
    await mallory.login("mallory")
    for path in (f"/dev/apps/{client_id}", f"/dev/apps/{client_id}/edit"):
        assert (await mallory.get(path)).code == 404, path
    for path in (f"/dev/apps/{client_id}/edit", f"/dev/apps/{client_id}/secret",
                 f"/dev/apps/{client_id}/token", f"/dev/apps/{client_id}/delete"):
        assert (await post_form(mallory, path, app_form(name="Owned"))).code == 404, path
    assert "My App" not in (await mallory.get("/dev")).text
    page = await browser.get(f"/dev/apps/{client_id}")
    assert page.code == 200 and "Owned" not in page.text
    url = field(await build_url(browser, client_id), "auth-url")
    assert (await authorize_with(browser, url, creds))["access_token"]  # the secret still works


@pytest.mark.gen_test
async def test_delete_app_ends_its_tokens(browser, make_user):
    await alice_in(browser, make_user)
    client_id, creds = await create_app(browser)
    tokens = await authorize_with(browser, field(await build_url(browser, client_id), "auth-url"), creds)
    r = await confirm(browser, f"/dev/apps/{client_id}/delete")
    assert r.code == 303 and r.location == "/dev"
    assert (await browser.get(f"/dev/apps/{client_id}")).code == 404
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 401


@pytest.mark.gen_test
async def test_deleting_or_a_new_secret_asks_first(browser, make_user, db):
    """Without the confirm page's "yes" the app and its secret stay as they were."""
    await alice_in(browser, make_user)
    client_id, creds = await create_app(browser)
    digest = await db.fetchval("SELECT secret_hash FROM clients WHERE client_id = ?", (client_id,))
    page = await ask(browser, f"/dev/apps/{client_id}/secret")
    assert page.question == "Generate a new secret for My App?" and page.cancel == f"/dev/apps/{client_id}#credentials"
    page = await ask(browser, f"/dev/apps/{client_id}/delete")
    assert page.question == "Delete My App?" and page.cancel == f"/dev/apps/{client_id}"
    assert page.action == f"/dev/apps/{client_id}/delete" and page.fields == []
    assert await db.fetchval("SELECT secret_hash FROM clients WHERE client_id = ?", (client_id,)) == digest
    url = field(await build_url(browser, client_id), "auth-url")
    assert (await authorize_with(browser, url, creds))["access_token"]  # the old secret still works
    public_id, _ = await create_app(browser, client_type="public", redirect_uris="http://127.0.0.1/cb")
    r = await post_form(browser, f"/dev/apps/{public_id}/secret", {})  # no secret: nothing to ask
    assert r.code == 400 and "no secret" in r.text


@pytest.mark.gen_test
async def test_internal_app_mints_a_working_refresh_token(browser, make_user):
    await alice_in(browser, make_user)
    client_id, creds = await create_app(browser, scopes=("profile", "friends:read"))
    r = await post_form(browser, f"/dev/apps/{client_id}/token", {})
    assert r.code == 303
    page = await browser.get(r.location)
    refresh_token = field(page, "refresh-token")
    assert refresh_token and field(await browser.get(r.location), "refresh-token") is None
    # Fyle: grant_type=refresh_token with client_id and client_secret in the body.
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                            client_id, creds["client_secret"], basic=False)
    assert r.code == 200, r.text
    body = r.json()
    assert body["scope"] == "friends:read profile" and body["refresh_token"] != refresh_token
    me = await api(browser, "/api/me", body["access_token"])
    assert me.code == 200 and me.json()["username"] == "alice"
    assert (await refresh(browser, creds, refresh_token)).json()["error"] == "invalid_grant"


@pytest.mark.gen_test
async def test_plugin_scopes_are_offered(app, browser, make_user):
    app.scopes.add("demo:read", "Demo", "test")
    await alice_in(browser, make_user)
    form = await browser.get("/dev/new")
    assert 'value="demo:read"' in form.text
    client_id, _ = await create_app(browser, scopes=("profile", "demo:read"))
    page = await build_url(browser, client_id, scopes=("demo:read",))
    assert "scope=demo%3Aread" in field(page, "auth-url")


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("oauth", "registration"): "approval"}])
async def test_approval_mode_holds_portal_apps_of_non_admins(browser, make_browser, make_user):
    await alice_in(browser, make_user)
    client_id, _ = await create_app(browser)
    page = await browser.get(f"/dev/apps/{client_id}")
    assert "Waiting for an admin" in page.text
    assert (await post_form(browser, f"/dev/apps/{client_id}/token", {})).code == 400
    root = make_browser()
    await root.login("root")
    admin_app, _ = await create_app(root)
    assert "Waiting for an admin" not in (await root.get(f"/dev/apps/{admin_app}")).text


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("oauth", "registration"): "closed"}])
async def test_portal_works_when_open_registration_is_closed(browser, make_user):
    await alice_in(browser, make_user)
    client_id, creds = await create_app(browser)
    assert creds["client_secret"]
    assert "Waiting for an admin" not in (await browser.get(f"/dev/apps/{client_id}")).text


# -- credentials shown once, across processes (services/apps.py Reveals) -------------------


async def posted_secret(browser) -> tuple[str, str]:
    """A new secret for a fresh app, POSTed but not yet shown → (client_id, the secret's page path)."""
    client_id, _ = await create_app(browser)
    r = await confirm(browser, f"/dev/apps/{client_id}/secret")
    assert r.code == 303
    return client_id, r.location


def clear_forms(secret: str) -> list[bytes]:
    """The ways a secret could sit in stored bytes unencrypted: its text and the bytes it encodes."""
    return [secret.encode(), base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))]


@pytest.mark.gen_test
async def test_secret_is_sealed_in_the_database_and_shown_exactly_once(browser, make_user, db, cfg):
    await alice_in(browser, make_user)
    client_id, path = await posted_secret(browser)
    rows = await db.fetchall("SELECT session_hash, client_id, sealed, expires_at FROM reveals")
    assert len(rows) == 1 and rows[0]["client_id"] == client_id
    stored = b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                      for row in rows for v in row)

    page = await browser.get(path)
    secret = field(page, "client-secret")
    assert secret and page.headers["Cache-Control"] == "no-store"
    for clear in clear_forms(secret):
        assert clear not in stored
    if not cfg.database.url:  # SQLite: not anywhere in its files either (the WAL included)
        for file in cfg.data_dir.iterdir():
            if file.is_file():
                assert not any(clear in file.read_bytes() for clear in clear_forms(secret)), file
    assert field(await browser.get(path), "client-secret") is None
    assert await db.fetchval("SELECT count(*) FROM reveals") == 0


@pytest.mark.gen_test
async def test_another_session_of_the_same_owner_sees_nothing(browser, make_browser, make_user, db):
    await alice_in(browser, make_user)
    _, path = await posted_secret(browser)
    other = make_browser()
    await other.login("alice")
    assert (await other.get(path)).code == 200 and field(await other.get(path), "client-secret") is None
    assert field(await browser.get(path), "client-secret")  # still there for the session that asked


@pytest.mark.gen_test
async def test_a_reveal_cannot_be_opened_without_its_session_token(browser, make_user, app, db):
    await alice_in(browser, make_user)
    client_id, _ = await posted_secret(browser)
    token = browser.cookies["fync_session"]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert await app.reveals.take(forged, client_id) == {}
    row = await db.fetchone("SELECT session_hash, sealed FROM reveals")
    digest, sealed = bytes(row["session_hash"]), bytes(row["sealed"])
    # What a copied database gives: the digest and the sealed bytes, which the digest does not open.
    for guess in (digest.hex(), base64.urlsafe_b64encode(digest).decode().rstrip("=")):
        with pytest.raises(InvalidTag):
            AESGCM(app.reveals._key(guess)).decrypt(sealed[:12], sealed[12:], digest + client_id.encode())
    # Sealed for this app: the same bytes under another app of the same session open nothing.
    other_id, _ = await create_app(browser, name="Other")
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO reveals (session_hash, client_id, sealed, expires_at) VALUES (?, ?, ?, ?)",
                         (digest, other_id, sealed, clock.now() + 60))
    assert await app.reveals.take(token, other_id) == {}
    assert (await app.reveals.take(token, client_id))["client_secret"]


@pytest.mark.gen_test
async def test_an_expired_secret_is_not_shown_and_is_swept(browser, make_user, db, monkeypatch):
    await alice_in(browser, make_user)
    client_id, path = await posted_secret(browser)
    later = clock.now() + apps.Reveals.TTL + 1
    monkeypatch.setattr(clock, "now", lambda: later)
    assert field(await browser.get(path), "client-secret") is None
    assert await db.fetchval("SELECT count(*) FROM reveals") == 0

    monkeypatch.undo()
    await confirm(browser, f"/dev/apps/{client_id}/secret")
    assert await housekeeping.sweep(db) == 0
    monkeypatch.setattr(clock, "now", lambda: later + apps.Reveals.TTL)
    assert await housekeeping.sweep(db) == 1
    assert await db.fetchval("SELECT count(*) FROM reveals") == 0


@pytest.mark.gen_test
async def test_logout_and_deleting_the_app_drop_its_reveal(browser, make_user, db):
    await alice_in(browser, make_user)
    client_id, _ = await posted_secret(browser)
    assert (await confirm(browser, f"/dev/apps/{client_id}/delete")).code == 303
    assert await db.fetchval("SELECT count(*) FROM reveals") == 0
    await posted_secret(browser)
    await browser.post("/logout")
    assert await db.fetchval("SELECT count(*) FROM reveals") == 0


@pytest.fixture
def second_server(io_loop, cfg, app):
    """Another FyncApplication on the same database, on a port of its own: another worker."""
    inst = io_loop.run_sync(lambda: open_instance(cfg))
    other, db = io_loop.run_sync(lambda: make_app(inst)), inst.db
    sock, port = bind_unused_port()
    server = HTTPServer(other)
    server.add_sockets([sock])
    yield other, f"http://127.0.0.1:{port}"
    server.stop()
    io_loop.run_sync(db.close)


@pytest.mark.gen_test
async def test_the_get_may_be_served_by_another_process(browser, make_browser, make_user, second_server):
    _, other_url = second_server
    await alice_in(browser, make_user)
    client_id, path = await posted_secret(browser)
    elsewhere = make_browser()
    elsewhere.base, elsewhere.cookies = other_url, dict(browser.cookies)
    page = await elsewhere.get(path)
    assert page.code == 200 and field(page, "client-secret")
    assert field(await browser.get(path), "client-secret") is None  # taken: neither process shows it again
    assert field(await elsewhere.get(path), "client-secret") is None

    r = await post_form(elsewhere, f"/dev/apps/{client_id}/token", {})  # the other way round
    assert r.code == 303
    assert field(await browser.get(r.location), "refresh-token")


@pytest.mark.gen_test
async def test_two_racing_takes_show_it_once(browser, make_user, app, second_server):
    other_app, _ = second_server
    await alice_in(browser, make_user)
    token = browser.cookies["fync_session"]
    client_id, _ = await create_app(browser)
    for _ in range(3):
        await app.reveals.put(token, client_id, {"client_secret": "s3cret"})
        got = await asyncio.gather(app.reveals.take(token, client_id), other_app.reveals.take(token, client_id),
                                   other_app.reveals.take(token, client_id))
        assert sorted(map(len, got)) == [0, 0, 1] and {"client_secret": "s3cret"} in got
