"""GET/POST /oauth/authorize: redirect URI checks, parameters, PKCE, state/iss, consent.

SPEC §3 "Authorization"; SECURITY-CHECKLIST (a) items 1-5, 7, 9, 12-14, 43-46, 53.
Every refused request is also checked to have stored nothing (no pending request, no
code) where that matters.
"""
from __future__ import annotations

import urllib.parse

import pytest

from gancio_like import clock
from oauth_helpers import (
    REDIRECT, REDIRECT2, authorize_url, consent, count, exchange, get_code, logged_in, pkce_pair, register,
)

PAGE_HEADERS = {"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def setup(browser, make_user, **reg):
    await logged_in(browser, make_user)
    return await register(browser, **reg)


async def nothing_stored(db):
    return (await count(db, "authorization_requests"), await count(db, "authorization_codes")) == (0, 0)


def assert_page(r, status=400):
    assert r.code == status, r.text
    assert r.location is None
    assert r.headers["Content-Type"].startswith("text/html")
    for name, value in PAGE_HEADERS.items():
        assert r.headers[name] == value
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in r.headers


def assert_error_redirect(r, error, base_url, state="xyz", to=REDIRECT):
    assert r.code == 302, r.text
    assert r.location.startswith(to + "?")
    p = r.location_params()
    assert p["error"] == error and p["iss"] == base_url and p.get("state") == state
    assert "code" not in p


def raw_url(**params) -> str:
    return "/oauth/authorize?" + "&".join(f"{k}={v}" for k, v in params.items())


# -- redirect URI (items 1, 2, 3, 5) -------------------------------------------------------

@pytest.mark.gen_test
@pytest.mark.parametrize("uri", [
    REDIRECT + "/x", "https://app.example/cb/..%2Fx", "https://app.example/CB", "https://app.example:443/cb",
    REDIRECT + "?x=1", REDIRECT + "#f", REDIRECT + "/", "https://APP.example/cb", "http://app.example/cb",
    # item 2: look-alikes
    "https://app.example@evil.tld/cb", "https://evil.tld\\@app.example/cb", "https://app.example.evil.tld/cb",
    "https://\u0430pp.example/cb", "https://xn--pp-8kc.example/cb",
])
async def test_unregistered_redirect_uri_is_a_400_page_items_1_2(browser, make_user, db, uri):
    client = await setup(browser, make_user)
    assert_page(await browser.get(authorize_url(client["client_id"], redirect_uri=uri, challenge=pkce_pair()[1])))
    assert await nothing_stored(db)


@pytest.mark.gen_test
async def test_unknown_client_is_a_400_page_even_logged_out_item_3(browser, db):
    assert_page(await browser.get(authorize_url("no-such-client", scope="nope", response_type="token")))
    assert_page(await browser.get("/authorize?response_type=code&redirect_uri=" + urllib.parse.quote(REDIRECT)))
    assert_page(await browser.get(authorize_url("' OR 1=1--")))  # item 56
    assert await nothing_stored(db)


@pytest.mark.gen_test
async def test_redirect_uri_omitted_with_two_registered_is_a_400_page_item_3(browser, make_user, db):
    client = await setup(browser, make_user, redirect_uris=(REDIRECT, REDIRECT2))
    assert_page(await browser.get(authorize_url(client["client_id"], redirect_uri=None)))
    assert await nothing_stored(db)


@pytest.mark.gen_test
async def test_redirect_uri_omitted_with_one_registered_uses_it(browser, make_user):
    client = await setup(browser, make_user)
    r = await consent(browser, authorize_url(client["client_id"], redirect_uri=None))
    assert r.code == 303 and r.location.startswith(REDIRECT + "?code=")


@pytest.mark.gen_test
async def test_loopback_redirect_matches_any_port_item_5(browser, make_user):
    client = await setup(browser, make_user, redirect_uris=("http://127.0.0.1/cb",), auth_method="none")
    code, verifier = await get_code(browser, client, redirect_uri="http://127.0.0.1:51004/cb")
    r = await exchange(browser, client, code, verifier, redirect_uri="http://127.0.0.1:51004/cb")
    assert r.code == 200, r.text


@pytest.mark.gen_test
@pytest.mark.parametrize("uri", ["http://127.0.0.1:51004/cb2", "http://127.0.0.1.evil.tld/cb",
                                 "http://127.0.0.1:51004/cb?x", "http://127.0.0.2:51004/cb"])
async def test_loopback_refuses_other_paths_and_hosts_item_5(browser, make_user, db, uri):
    client = await setup(browser, make_user, redirect_uris=("http://127.0.0.1/cb",), auth_method="none")
    assert_page(await browser.get(authorize_url(client["client_id"], redirect_uri=uri, challenge=pkce_pair()[1])))
    assert await nothing_stored(db)


# -- parameters (items 4, 7, 9) --------------------------------------------------------------

@pytest.mark.gen_test
async def test_duplicate_client_id_is_a_400_page_item_7(browser, make_user, db):
    client = await setup(browser, make_user)
    cid = client["client_id"]
    assert_page(await browser.get(authorize_url(cid) + "&client_id=" + cid))
    assert await nothing_stored(db)


@pytest.mark.gen_test
@pytest.mark.parametrize("extra, error", [
    ("&response_type=code", "invalid_request"),             # duplicate response_type (item 7)
    ("&scope=profile", "invalid_request"),                  # duplicate scope
])
async def test_duplicate_parameters_redirect_invalid_request_item_7(browser, make_user, db, base_url, extra, error):
    client = await setup(browser, make_user)
    r = await browser.get(authorize_url(client["client_id"], challenge=pkce_pair()[1]) + extra)
    assert_error_redirect(r, error, base_url)
    assert await nothing_stored(db)


@pytest.mark.gen_test
@pytest.mark.parametrize("response_type", [None, ""])
async def test_missing_response_type_means_code(browser, make_user, base_url, response_type):
    """SPEC §3: left out (or empty, RFC 6749 §3.1), it means `code`, as GitHub, Fusio and AnyFetch clients send it."""
    client = await setup(browser, make_user)
    verifier, challenge = pkce_pair()
    r = await consent(browser, authorize_url(client["client_id"], challenge=challenge, response_type=response_type))
    p = r.location_params()
    assert r.code in (302, 303) and r.location.startswith(REDIRECT + "?") and p["state"] == "xyz", r.text
    assert "error" not in p and p["iss"] == base_url
    assert (await exchange(browser, client, p["code"], verifier)).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("response_type, error", [
    ("token", "unsupported_response_type"), ("code token", "unsupported_response_type"),
    ("id_token", "unsupported_response_type"), ("CODE", "unsupported_response_type"),
])
async def test_response_type_errors_item_9(browser, make_user, db, base_url, response_type, error):
    client = await setup(browser, make_user)
    r = await browser.get(authorize_url(client["client_id"], challenge=pkce_pair()[1], response_type=response_type))
    assert_error_redirect(r, error, base_url)
    assert await nothing_stored(db)


@pytest.mark.gen_test
@pytest.mark.parametrize("scope", ["event:read", "profile friends:write", "unknown", "profile\"x"])
async def test_scope_outside_the_clients_is_invalid_scope_item_4(browser, make_user, db, base_url, scope):
    client = await setup(browser, make_user, scope="profile friends:read")
    r = await browser.get(authorize_url(client["client_id"], scope=scope, challenge=pkce_pair()[1]))
    assert_error_redirect(r, "invalid_scope", base_url)
    assert await nothing_stored(db)


@pytest.mark.gen_test
async def test_anonymous_client_errors_wait_for_login_item_4(browser, db):
    client = await register(browser)
    url = authorize_url(client["client_id"], scope="event:read", response_type="token")
    r = await browser.get(url)
    assert r.code == 302 and r.location == "/login?" + urllib.parse.urlencode({"next": url})


@pytest.mark.gen_test
async def test_not_logged_in_goes_to_login_with_next(browser, make_user, db):
    await make_user("alice")
    client = await register(browser)
    url = authorize_url(client["client_id"], challenge=pkce_pair()[1])
    r = await browser.get(url)
    assert r.code == 302 and r.location == "/login?" + urllib.parse.urlencode({"next": url})
    assert await nothing_stored(db)
    r = await browser.post("/login", {"username": "alice", "password": "correct horse battery", "next": url})
    assert r.location == url


@pytest.mark.gen_test
@pytest.mark.parametrize("query", ["client_id=%00", "client_id=%ff%fe", "client_id=CID&redirect_uri=%ff",
                                   "client_id=CID&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%00",
                                   "client_id=CID&response_type=code&scope=profile%00",
                                   "client_id=CID&response_type=code&scope=%ff", "client_id=CID&response_type=%00",
                                   "client_id=CID&response_type=code&state=%ff%00&code_challenge=%00"])
async def test_malformed_query_is_a_page_or_invalid_request_item_55(browser, make_user, db, base_url, query):
    client = await setup(browser, make_user)
    r = await browser.get("/oauth/authorize?" + query.replace("CID", client["client_id"]))
    if r.code == 302:
        assert r.location.startswith(REDIRECT + "?") and r.location_params()["error"] == "invalid_request"
    else:
        assert_page(r)
    assert await nothing_stored(db)


# -- PKCE at the authorization endpoint (items 12-14) ----------------------------------------

@pytest.mark.gen_test
@pytest.mark.parametrize("params", [
    {},                                                                   # public client without PKCE (12)
    {"code_challenge": "A" * 43, "code_challenge_method": "plain"},       # 13
    {"code_challenge": "A" * 43},                                         # method omitted = plain (13)
    {"code_challenge_method": "S256"},                                    # method without challenge
    {"code_challenge": "A" * 42, "code_challenge_method": "S256"},        # 14: too short
    {"code_challenge": "A" * 129, "code_challenge_method": "S256"},       # 14: too long
    {"code_challenge": "A" * 42 + "=", "code_challenge_method": "S256"},  # 14: not unreserved
    {"code_challenge": "A" * 42 + "+", "code_challenge_method": "S256"},
])
async def test_pkce_errors_redirect_invalid_request_items_12_14(browser, make_user, db, base_url, params):
    client = await setup(browser, make_user, auth_method="none")
    r = await browser.get(authorize_url(client["client_id"], **params))
    assert_error_redirect(r, "invalid_request", base_url)
    assert await nothing_stored(db)


@pytest.mark.gen_test
async def test_confidential_client_may_skip_pkce_by_default(browser, make_user):
    client = await setup(browser, make_user)
    code, _ = await get_code(browser, client, pkce=False)
    assert (await exchange(browser, client, code)).code == 200


class TestPkceAlways:
    @pytest.fixture
    def config_overrides(self):
        return {("oauth", "require_pkce"): "always"}

    @pytest.mark.gen_test
    async def test_confidential_client_needs_pkce_when_always(self, browser, make_user, db, base_url):
        client = await setup(browser, make_user)
        assert_error_redirect(await browser.get(authorize_url(client["client_id"])), "invalid_request", base_url)
        assert await nothing_stored(db)


# -- state and iss (item 43) --------------------------------------------------------------------

@pytest.mark.gen_test
@pytest.mark.parametrize("state", ["é&#x=1 ü+%20", "s" * 4096])
async def test_state_echoed_byte_exact_with_iss_item_43(browser, make_user, base_url, state):
    client = await setup(browser, make_user)
    r = await consent(browser, authorize_url(client["client_id"], state=state, challenge=pkce_pair()[1]))
    p = r.location_params()
    assert p["state"] == state and p["iss"] == base_url and p["code"]
    r = await browser.get(authorize_url(client["client_id"], state=state, scope="event:read"))
    assert_error_redirect(r, "invalid_scope", base_url, state=state)


@pytest.mark.gen_test
@pytest.mark.parametrize("state", [None, ""])
async def test_absent_or_empty_state_not_echoed_item_43(browser, make_user, base_url, state):
    client = await setup(browser, make_user)
    r = await consent(browser, authorize_url(client["client_id"], state=state, challenge=pkce_pair()[1]))
    assert "state" not in r.location_params() and r.location_params()["iss"] == base_url
    r = await browser.get(authorize_url(client["client_id"], state=state, scope="event:read"))
    assert_error_redirect(r, "invalid_scope", base_url, state=None)


@pytest.mark.gen_test
@pytest.mark.parametrize("state", ["%ff", "a%00b"])
async def test_undecodable_state_is_not_echoed_item_43_55(browser, make_user, base_url, state):
    client = await setup(browser, make_user)
    r = await browser.get(authorize_url(client["client_id"], challenge=pkce_pair()[1], state=None) + "&state=" + state)
    assert_error_redirect(r, "invalid_request", base_url, state=None)


# -- the consent page (items 44-46, 53) ---------------------------------------------------------

@pytest.mark.gen_test
async def test_consent_page_shows_app_and_scopes_and_cannot_be_framed_item_45_53(browser, make_user):
    client = await setup(browser, make_user, client_name="<script>alert(1)</script>", client_uri="https://home.example/")
    r = await browser.get(authorize_url(client["client_id"], scope="profile friends:read", challenge=pkce_pair()[1]))
    assert_page(r, 200)
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert '<strong class="mono">app.example</strong>' in r.text and 'href="https://home.example/"' in r.text
    assert "Read your profile" in r.text and "See your friends" in r.text
    assert 'name="scope" value="profile" checked' in r.text and 'value="friends:read" checked' in r.text
    assert 'value="event:write"' not in r.text
    assert 'name="decision" value="allow"' in r.text and 'name="decision" value="deny"' in r.text


async def consent_page(browser, make_user, db, **params):
    client = await setup(browser, make_user)
    page = await browser.get(authorize_url(client["client_id"], challenge=pkce_pair()[1], **params))
    assert page.code == 200 and await count(db, "authorization_requests") == 1
    return client, page.form_value("request_id")


async def answer(browser, request_id, decision="allow", scopes=("profile",), xsrf=True):
    body = [("request_id", request_id), ("decision", decision)] + [("scope", s) for s in scopes]
    if xsrf is True:
        body.insert(0, ("_xsrf", await browser.xsrf()))
    elif xsrf:
        body.insert(0, ("_xsrf", xsrf))
    return await browser.request("POST", "/oauth/authorize", urllib.parse.urlencode(body),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)


@pytest.mark.gen_test
async def test_consent_post_without_or_with_foreign_xsrf_is_403_item_44(browser, make_user, make_browser, db):
    _, request_id = await consent_page(browser, make_user, db)
    other = make_browser()
    assert (await answer(browser, request_id, xsrf=False)).code == 403
    assert (await answer(browser, request_id, xsrf=await other.xsrf())).code == 403
    assert await count(db, "authorization_codes") == 0 and await count(db, "authorization_requests") == 1
    assert (await answer(browser, request_id)).code == 303  # the request was left untouched


@pytest.mark.gen_test
@pytest.mark.parametrize("tamper", ["", "not-a-request", "x" * 43])
async def test_tampered_request_id_is_a_400_page_item_44(browser, make_user, db, tamper):
    await consent_page(browser, make_user, db)
    assert_page(await answer(browser, tamper))
    assert await count(db, "authorization_codes") == 0 and await count(db, "authorization_requests") == 1


@pytest.mark.gen_test
async def test_another_sessions_request_id_is_refused_item_44(browser, make_user, make_browser, db):
    _, request_id = await consent_page(browser, make_user, db)
    mallory = make_browser()
    await make_user("mallory")
    await mallory.login("mallory")
    assert_page(await answer(mallory, request_id))
    assert await count(db, "authorization_codes") == 0
    assert (await answer(browser, request_id)).code == 303


@pytest.mark.gen_test
async def test_consent_page_expires(browser, make_user, db, monkeypatch):
    _, request_id = await consent_page(browser, make_user, db)
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + 601)  # PENDING_TTL = 600
    assert_page(await answer(browser, request_id))
    assert await count(db, "authorization_codes") == 0


@pytest.mark.gen_test
async def test_request_id_answers_once(browser, make_user, db):
    _, request_id = await consent_page(browser, make_user, db)
    assert (await answer(browser, request_id)).code == 303
    assert_page(await answer(browser, request_id))
    assert await count(db, "authorization_codes") == 1


@pytest.mark.gen_test
async def test_hidden_scope_the_page_did_not_offer_is_ignored_item_44(browser, make_user, db):
    client, request_id = await consent_page(browser, make_user, db)
    r = await answer(browser, request_id, scopes=("profile", "event:write", "friends:read"))
    assert r.code == 303
    code = r.location_params()["code"]
    assert await db.fetchval("SELECT scope FROM authorization_codes") == "profile"
    assert await db.fetchval("SELECT scope FROM consents") == "profile"
    assert code


@pytest.mark.gen_test
async def test_allow_redirects_303_never_307_item_46(browser, make_user, db, base_url):
    _, request_id = await consent_page(browser, make_user, db, state="s1")
    r = await answer(browser, request_id)
    assert r.code == 303 and r.location.startswith(REDIRECT + "?")
    assert set(r.location_params()) == {"code", "state", "iss"} and r.location_params()["iss"] == base_url


@pytest.mark.gen_test
@pytest.mark.parametrize("decision, scopes", [("deny", ("profile",)), ("allow", ()), ("", ("profile",))])
async def test_deny_is_access_denied_with_state_and_iss(browser, make_user, db, base_url, decision, scopes):
    client, request_id = await consent_page(browser, make_user, db, state="s&1")
    r = await answer(browser, request_id, decision=decision, scopes=scopes)
    assert r.code == 303
    p = r.location_params()
    assert p["error"] == "access_denied" and p["state"] == "s&1" and p["iss"] == base_url and "code" not in p
    assert (await count(db, "authorization_codes"), await count(db, "consents"), await count(db, "grants")) == (0, 0, 0)
    # nothing remembered: the next request shows the page again
    assert (await browser.get(authorize_url(client["client_id"], challenge=pkce_pair()[1]))).code == 200


@pytest.mark.gen_test
async def test_new_scope_shows_consent_again_item_44(browser, make_user):
    client = await setup(browser, make_user)
    await get_code(browser, client, scope="profile")
    assert (await browser.get(authorize_url(client["client_id"], challenge=pkce_pair()[1]))).code == 302
    r = await browser.get(authorize_url(client["client_id"], scope="profile friends:read", challenge=pkce_pair()[1]))
    assert r.code == 200 and 'value="friends:read" checked' in r.text


@pytest.mark.gen_test
@pytest.mark.parametrize("force", [{"prompt": "consent"}, {"approval_prompt": "force"}])
async def test_forced_prompt_shows_consent_again(browser, make_user, force):
    client = await setup(browser, make_user)
    await get_code(browser, client)
    r = await browser.get(authorize_url(client["client_id"], challenge=pkce_pair()[1], **force))
    assert r.code == 200 and r.form_value("request_id")


@pytest.mark.gen_test
async def test_replace_existing_token_revokes_earlier_tokens(browser, make_user, make_browser):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    old = (await exchange(browser, client, code, verifier)).json()
    bob = make_browser()
    await logged_in(bob, make_user, "bob")
    code, verifier = await get_code(bob, client)
    bobs = (await exchange(bob, client, code, verifier)).json()
    pending, pending_verifier = await get_code(browser, client)  # issued, not yet redeemed
    code, verifier = await get_code(browser, client, replace_existing_token="true")
    new = (await exchange(browser, client, code, verifier)).json()
    assert (await exchange(browser, client, pending, pending_verifier)).json()["error"] == "invalid_grant"
    me = "/api/me"
    assert (await browser.get(me, headers={"Authorization": "Bearer " + old["access_token"]})).code == 401
    assert (await browser.get(me, headers={"Authorization": "Bearer " + new["access_token"]})).code == 200
    assert (await browser.get(me, headers={"Authorization": "Bearer " + bobs["access_token"]})).code == 200


@pytest.mark.gen_test
async def test_authorize_alias(browser, make_user):
    client = await setup(browser, make_user)
    r = await browser.get(authorize_url(client["client_id"], challenge=pkce_pair()[1]).replace("/oauth/authorize", "/authorize"))
    assert r.code == 200 and r.form_value("request_id")
