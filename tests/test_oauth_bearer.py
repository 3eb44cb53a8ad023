"""The resource API's bearer checks (SPEC §4, RFC 6750 §2.1, §3.1).

SECURITY-CHECKLIST (a) items 26, 37-41; a password change ends every app's access.
"""
from __future__ import annotations

import pytest

from gancio_like import clock
from gancio_like.services import accounts
from gancio_like.storage.users import get_user_by_name
from oauth_helpers import api, exchange, get_code, logged_in, register, revoke

REAL_NOW = clock.now
NO_TOKEN_CHALLENGE = 'Bearer realm="fync"'


async def setup(browser, make_user, scope="profile", **kw):
    """A logged-in user's client and tokens → (client, tokens, code already spent)."""
    await logged_in(browser, make_user)
    client = await register(browser, **kw)
    code, verifier = await get_code(browser, client, scope=scope)
    r = await exchange(browser, client, code, verifier)
    assert r.code == 200, r.text
    return client, r.json(), code


def assert_invalid_token(r):
    assert r.code == 401, r.text
    assert r.json()["error"] == "invalid_token" and r.json()["error_description"]
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="fync", error="invalid_token"')


async def me(browser, authorization=None, path="/api/me", **kw):
    headers = {"Authorization": authorization} if authorization else {}
    return await browser.request("GET", path, headers=headers, xsrf=False, **kw)


# -- no token, bad tokens (items 37, 38) --------------------------------------------------------

@pytest.mark.gen_test
async def test_no_token_is_401_without_error_code_item_37(browser):
    r = await me(browser)
    assert r.code == 401 and r.headers["WWW-Authenticate"] == NO_TOKEN_CHALLENGE
    assert set(r.json()) == {"error", "error_description"} and r.json()["error"] != "invalid_token"


@pytest.mark.gen_test
@pytest.mark.parametrize("authorization", ["Basic YTpi", "Token abc", "Bearer"])
async def test_other_schemes_count_as_no_token_item_37(browser, authorization):
    r = await me(browser, authorization)
    assert r.code == 401 and r.headers["WWW-Authenticate"] == NO_TOKEN_CHALLENGE


@pytest.mark.gen_test
async def test_session_cookie_alone_is_not_a_token_item_41(browser, make_user):
    await logged_in(browser, make_user)
    assert "fync_session" in browser.cookies
    r = await me(browser)
    assert r.code == 401 and r.headers["WWW-Authenticate"] == NO_TOKEN_CHALLENGE


@pytest.mark.gen_test
@pytest.mark.parametrize("token", ["garbage", "a" * 43, "' OR 1=1--", "abc def", "ab\"c", "é", "Bearer x", "=abc"])
async def test_garbage_token_is_401_invalid_token_item_38(browser, token):
    assert_invalid_token(await me(browser, "Bearer " + token))


@pytest.mark.gen_test
async def test_expired_token_is_401_invalid_token_item_38(browser, make_user, monkeypatch):
    _, tokens, _ = await setup(browser, make_user)
    start = REAL_NOW()
    monkeypatch.setattr(clock, "now", lambda: start + 3599)
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 200
    monkeypatch.setattr(clock, "now", lambda: start + 3601)
    assert_invalid_token(await api(browser, "/api/me", tokens["access_token"]))


@pytest.mark.gen_test
async def test_revoked_token_is_401_invalid_token_item_38(browser, make_user):
    client, tokens, _ = await setup(browser, make_user)
    await revoke(browser, client, tokens["access_token"])
    assert_invalid_token(await api(browser, "/api/me", tokens["access_token"]))


@pytest.mark.gen_test
async def test_disabled_clients_tokens_stop_working(browser, make_user, db):
    client, tokens, _ = await setup(browser, make_user)
    await db.execute("UPDATE clients SET status = 'disabled' WHERE client_id = ?", (client["client_id"],))
    assert_invalid_token(await api(browser, "/api/me", tokens["access_token"]))


@pytest.mark.gen_test
async def test_refresh_token_or_code_as_bearer_is_401_item_26(browser, make_user):
    _, tokens, code = await setup(browser, make_user)
    for token in (tokens["refresh_token"], code):
        assert_invalid_token(await api(browser, "/api/me", token))
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 200


# -- scope (item 39) ---------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_missing_scope_is_403_insufficient_scope_item_39(browser, make_user):
    _, tokens, _ = await setup(browser, make_user, scope="friends:read")
    r = await api(browser, "/api/me", tokens["access_token"])
    assert r.code == 403 and r.json()["error"] == "insufficient_scope"
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="fync", error="insufficient_scope"')
    assert challenge.endswith('scope="profile"')


@pytest.mark.gen_test
async def test_public_index_with_and_without_token(browser, make_user):
    _, tokens, _ = await setup(browser, make_user, scope="friends:read")
    anonymous = await me(browser, path="/api")
    assert anonymous.code == 200 and "user" not in anonymous.json()
    r = await api(browser, "/api", tokens["access_token"])
    assert r.code == 200 and r.json()["user"]["username"] == "alice" and r.json()["scope"] == "friends:read"
    assert_invalid_token(await api(browser, "/api", "garbage"))  # a token, if sent, is still checked


@pytest.mark.gen_test
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_unimplemented_method_is_405_not_a_scope_error(browser, make_user, method):
    _, tokens, _ = await setup(browser, make_user)
    r = await api(browser, "/api/me", tokens["access_token"], method=method, body={})
    assert r.code == 405 and "WWW-Authenticate" not in r.headers


# -- how the token is sent (item 40) ---------------------------------------------------------------

@pytest.mark.gen_test
@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
async def test_scheme_is_case_insensitive_item_40(browser, make_user, scheme):
    _, tokens, _ = await setup(browser, make_user)
    r = await me(browser, f"{scheme} {tokens['access_token']}")
    assert r.code == 200 and r.json()["username"] == "alice"


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/api/me", "/api"])
async def test_token_in_query_is_refused_item_40(browser, make_user, path):
    _, tokens, _ = await setup(browser, make_user)
    assert_invalid_token(await me(browser, path=f"{path}?access_token={tokens['access_token']}"))
    r = await me(browser, "Bearer " + tokens["access_token"], path=f"{path}?access_token={tokens['access_token']}")
    assert r.code == 401


@pytest.mark.gen_test
async def test_token_in_header_and_body_is_invalid_request_item_40(browser, make_user):
    _, tokens, _ = await setup(browser, make_user)
    r = await browser.request("GET", "/api/me", f"access_token={tokens['access_token']}", xsrf=False, headers={
        "Authorization": "Bearer " + tokens["access_token"], "Content-Type": "application/x-www-form-urlencoded"})
    assert r.code == 400 and r.json()["error"] == "invalid_request"


# -- CORS and password change --------------------------------------------------------------------

@pytest.mark.gen_test
async def test_api_is_cors_open(browser):
    assert (await me(browser)).headers["Access-Control-Allow-Origin"] == "*"
    r = await browser.request("OPTIONS", "/api/me", headers={"Origin": "https://app.example",
                                                              "Access-Control-Request-Method": "GET"}, xsrf=False)
    assert r.code == 204 and "Authorization" in r.headers["Access-Control-Allow-Headers"]


@pytest.mark.gen_test
async def test_password_change_revokes_every_token_item_26(browser, make_user, make_browser):
    _, tokens, _ = await setup(browser, make_user)
    other = make_browser()
    await logged_in(other, make_user, "bob")
    client = await register(other)
    code, verifier = await get_code(other, client)
    bobs = (await exchange(other, client, code, verifier)).json()
    r = await browser.post("/settings", {"current_password": "correct horse battery", "new_password": "brand new pw 2"})
    assert r.code == 303
    assert_invalid_token(await api(browser, "/api/me", tokens["access_token"]))
    assert (await api(browser, "/api/me", bobs["access_token"])).code == 200


@pytest.mark.gen_test
async def test_the_password_service_itself_revokes_every_token_item_26(app, browser, make_user):
    """The rule lives in `accounts.set_password`, which every way of setting a password calls
    (the settings page, `fync user passwd`): no caller has to remember it."""
    _, tokens, _ = await setup(browser, make_user)
    alice = (await get_user_by_name(app.db, "alice")).id
    await accounts.set_password(app.db, app.passwords, alice, "brand new pw 2")
    assert_invalid_token(await api(browser, "/api/me", tokens["access_token"]))


@pytest.mark.gen_test
async def test_password_change_voids_codes_not_yet_redeemed(browser, make_user):
    await logged_in(browser, make_user)
    client = await register(browser)
    code, verifier = await get_code(browser, client)
    r = await browser.post("/settings", {"current_password": "correct horse battery", "new_password": "brand new pw 2"})
    assert r.code == 303
    r = await exchange(browser, client, code, verifier)
    assert r.code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.gen_test
async def test_wrong_current_password_revokes_nothing(browser, make_user):
    _, tokens, _ = await setup(browser, make_user)
    r = await browser.post("/settings", {"current_password": "not the password", "new_password": "brand new pw 2"})
    assert r.code == 400
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 200
