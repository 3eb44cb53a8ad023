"""POST /oauth/token: codes, PKCE, redirect_uri, refresh rotation, client auth, malformed requests.

SPEC §3 "Token"; SECURITY-CHECKLIST (a) items 6, 8, 10, 11, 15-31, 56 and (b)'s
concurrent redemption / refresh. A refused request must leave the code or refresh
token usable by its rightful owner unless the SPEC says it revokes.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import pytest

from gancio_like import clock
from gancio_like.oauth import credentials
from oauth_helpers import (
    REDIRECT, REDIRECT2, api, basic_header, count, exchange, form_post, get_code, logged_in, refresh, register,
    token_request,
)

REAL_NOW = clock.now


def move_clock(monkeypatch, seconds: int) -> None:
    start = REAL_NOW()
    monkeypatch.setattr(clock, "now", lambda: start + seconds)


async def setup(browser, make_user, **reg):
    await logged_in(browser, make_user)
    return await register(browser, **reg)


async def tokens_for(browser, client, scope="profile"):
    code, verifier = await get_code(browser, client, scope=scope)
    r = await exchange(browser, client, code, verifier)
    assert r.code == 200, r.text
    return r.json()


def assert_error(r, error, status=400):
    assert (r.code, r.json()["error"]) == (status, error), r.text
    assert set(r.json()) == {"error", "error_description"}
    assert r.headers["Cache-Control"] == "no-store"


async def me(browser, token) -> int:
    return (await api(browser, "/api/me", token)).code


# -- the success response ---------------------------------------------------------------

@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth2/token", "/oauth/access_token"])
async def test_code_exchange_response_and_aliases(browser, make_user, path):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client, scope="profile friends:read")
    params = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT}
    r = await form_post(browser, path, params, basic_header(client["client_id"], client["client_secret"]))
    assert r.code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "friends:read profile")
    assert await me(browser, body["access_token"]) == 200


@pytest.mark.gen_test
async def test_scope_sent_to_token_endpoint_is_ignored(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client, scope="profile")
    r = await exchange(browser, client, code, verifier, scope="profile event:write friends:read")
    assert r.code == 200 and r.json()["scope"] == "profile"


# -- codes (items 15-21) --------------------------------------------------------------------

@pytest.mark.gen_test
async def test_expired_code_is_invalid_grant_item_21(browser, make_user, monkeypatch):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    move_clock(monkeypatch, 301)  # code_ttl = 300
    assert_error(await exchange(browser, client, code, verifier), "invalid_grant")
    move_clock(monkeypatch, 0)
    assert (await exchange(browser, client, code, verifier)).code == 200  # expiry alone revoked nothing


@pytest.mark.gen_test
async def test_code_replay_revokes_first_tokens_item_18(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    first = (await exchange(browser, client, code, verifier)).json()
    assert_error(await exchange(browser, client, code, verifier), "invalid_grant")
    assert await me(browser, first["access_token"]) == 401
    assert_error(await refresh(browser, client, first["refresh_token"]), "invalid_grant")


@pytest.mark.gen_test
async def test_code_of_another_client_is_invalid_grant_item_20(browser, make_user):
    client = await setup(browser, make_user)
    other = await register(browser)
    code, verifier = await get_code(browser, client)
    assert_error(await exchange(browser, other, code, verifier), "invalid_grant")
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
async def test_wrong_verifier_twice_then_right_one_works_item_16_19(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    for wrong in ("x" * 43, challenge):  # a random verifier, then the challenge itself
        assert_error(await exchange(browser, client, code, wrong), "invalid_grant")
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
async def test_replay_with_wrong_verifier_does_not_revoke_item_19(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    first = (await exchange(browser, client, code, verifier)).json()
    assert_error(await exchange(browser, client, code, "y" * 43), "invalid_grant")
    other = await register(browser)
    assert_error(await exchange(browser, other, code, verifier), "invalid_grant")
    assert await me(browser, first["access_token"]) == 200


@pytest.mark.gen_test
async def test_missing_verifier_is_invalid_grant_item_15(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    assert_error(await exchange(browser, client, code), "invalid_grant")
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
async def test_verifier_for_a_code_without_challenge_is_invalid_request_item_17(browser, make_user):
    client = await setup(browser, make_user)
    code, _ = await get_code(browser, client, pkce=False)
    assert_error(await exchange(browser, client, code, "v" * 43), "invalid_request")
    assert (await exchange(browser, client, code)).code == 200


# -- redirect_uri at the token endpoint (item 6, OAuth 2.1 §10.2 as SPEC words it) ---------

@pytest.mark.gen_test
@pytest.mark.parametrize("sent", [REDIRECT2, REDIRECT + "/", "https://evil.tld/cb"])
async def test_redirect_uri_differing_is_invalid_grant_item_6(browser, make_user, sent):
    client = await setup(browser, make_user, redirect_uris=(REDIRECT, REDIRECT2))
    code, verifier = await get_code(browser, client)
    assert_error(await exchange(browser, client, code, verifier, redirect_uri=sent), "invalid_grant")
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("uris, pkce", [((REDIRECT, REDIRECT2), True), ((REDIRECT,), False)])
async def test_redirect_uri_may_be_omitted_with_pkce_or_one_registered(browser, make_user, uris, pkce):
    client = await setup(browser, make_user, redirect_uris=uris)
    code, verifier = await get_code(browser, client, pkce=pkce)
    assert (await exchange(browser, client, code, verifier, redirect_uri=None)).code == 200


@pytest.mark.gen_test
async def test_redirect_uri_required_without_pkce_and_several_registered_item_6(browser, make_user):
    client = await setup(browser, make_user, redirect_uris=(REDIRECT, REDIRECT2))
    code, _ = await get_code(browser, client, pkce=False)
    r = await exchange(browser, client, code, redirect_uri=None)
    assert_error(r, "invalid_grant")
    # SPEC §3: the error says both ways a client may leave redirect_uri out.
    description = r.json()["error_description"]
    assert "redirect_uri" in description and "PKCE" in description, description
    assert "exactly one redirect URI" in description, description
    assert (await exchange(browser, client, code)).code == 200


# -- refresh (items 23-26) ------------------------------------------------------------------

@pytest.mark.gen_test
async def test_narrower_refresh_scope_keeps_the_refresh_tokens_scope_item_24(browser, make_user):
    client = await setup(browser, make_user)
    first = await tokens_for(browser, client, scope="profile friends:read")
    r = await refresh(browser, client, first["refresh_token"], scope="friends:read")
    assert r.code == 200 and r.json()["scope"] == "friends:read"
    assert await me(browser, r.json()["access_token"]) == 403
    r = await refresh(browser, client, r.json()["refresh_token"])
    assert r.code == 200 and r.json()["scope"] == "friends:read profile"


@pytest.mark.gen_test
@pytest.mark.parametrize("scope", ["profile event:write", "event:write", "nonsense"])
async def test_broader_refresh_scope_is_invalid_scope_item_24(browser, make_user, scope):
    client = await setup(browser, make_user)
    first = await tokens_for(browser, client)
    assert_error(await refresh(browser, client, first["refresh_token"], scope=scope), "invalid_scope")
    assert (await refresh(browser, client, first["refresh_token"])).code == 200  # not spent


@pytest.mark.gen_test
async def test_refresh_token_of_another_client_is_invalid_grant_item_25(browser, make_user):
    client = await setup(browser, make_user)
    other = await register(browser)
    first = await tokens_for(browser, client)
    assert_error(await refresh(browser, other, first["refresh_token"]), "invalid_grant")
    assert await me(browser, first["access_token"]) == 200
    assert (await refresh(browser, client, first["refresh_token"])).code == 200


@pytest.mark.gen_test
async def test_refresh_without_client_authentication_is_401_item_25(browser, make_user):
    client = await setup(browser, make_user)
    first = await tokens_for(browser, client)
    params = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    for r in (await form_post(browser, "/oauth/token", params),
              await form_post(browser, "/oauth/token", {**params, "client_id": client["client_id"]})):
        assert_error(r, "invalid_client", 401)
    assert (await refresh(browser, client, first["refresh_token"])).code == 200


@pytest.mark.gen_test
async def test_access_token_as_refresh_token_is_invalid_grant_item_26(browser, make_user):
    client = await setup(browser, make_user)
    first = await tokens_for(browser, client)
    assert_error(await refresh(browser, client, first["access_token"]), "invalid_grant")
    assert await me(browser, first["access_token"]) == 200


@pytest.mark.gen_test
async def test_password_change_ends_refresh_tokens_item_26(browser, make_user):
    client = await setup(browser, make_user)
    first = await tokens_for(browser, client)
    r = await browser.post("/settings", {"current_password": "correct horse battery", "new_password": "a new secret 1"})
    assert r.code == 303
    assert_error(await refresh(browser, client, first["refresh_token"]), "invalid_grant")
    assert await me(browser, first["access_token"]) == 401


# -- client authentication (items 28, 29; items 27, 28, 30 on every endpoint: test_oauth_revoke_introspect) --

@pytest.mark.gen_test
async def test_confidential_client_without_secret_is_invalid_client_item_28(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    assert_error(await exchange(browser, {"client_id": client["client_id"]}, code, verifier), "invalid_client", 401)
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
async def test_public_client_sending_a_secret_is_invalid_client(browser, make_user):
    client = await setup(browser, make_user, auth_method="none")
    code, verifier = await get_code(browser, client)
    assert_error(await exchange(browser, {**client, "client_secret": "x"}, code, verifier), "invalid_client", 401)
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [{"client_secret": "SECRET"}, {"client_id": "someone-else"}])
async def test_basic_plus_body_credentials_is_invalid_request_item_29(browser, make_user, body):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    body = {k: client["client_secret"] if v == "SECRET" else v for k, v in body.items()}
    assert_error(await exchange(browser, client, code, verifier, **body), "invalid_request")
    assert (await exchange(browser, client, code, verifier)).code == 200


# -- malformed requests (items 8, 10, 11, 55, 56) ---------------------------------------------------

@pytest.mark.gen_test
async def test_get_is_405_json_item_10(browser):
    r = await browser.get("/oauth/token?grant_type=authorization_code&code=x")
    assert r.code == 405 and r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Allow"] == "POST, OPTIONS" and r.headers["Cache-Control"] == "no-store"
    assert r.json()["error"] == "invalid_request"


@pytest.mark.gen_test
async def test_json_body_is_invalid_request_item_10(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    body = json.dumps({"grant_type": "authorization_code", "code": code, "code_verifier": verifier})
    r = await browser.request("POST", "/oauth/token", body, xsrf=False, headers={
        "Content-Type": "application/json", **basic_header(client["client_id"], client["client_secret"])})
    assert_error(r, "invalid_request")
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("in_query", ["client_secret", "code"])
async def test_parameters_in_query_are_invalid_request_item_10(browser, make_user, in_query):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    params = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
              "client_id": client["client_id"], "client_secret": client["client_secret"]}
    moved = params.pop(in_query)
    r = await form_post(browser, f"/oauth/token?{in_query}={moved}", params)
    assert_error(r, "invalid_request")
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("dup", ["code", "client_id", "grant_type"])
async def test_duplicate_token_parameters_are_invalid_request_item_8(browser, make_user, dup):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    params = [("grant_type", "authorization_code"), ("code", code), ("code_verifier", verifier),
              ("client_id", client["client_id"]), ("client_secret", client["client_secret"])]
    params.append((dup, dict(params)[dup]))
    assert_error(await form_post(browser, "/oauth/token", params), "invalid_request")
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("grant_type, error", [
    (None, "invalid_request"), ("password", "unsupported_grant_type"),
    ("client_credentials", "unsupported_grant_type"), ("foo", "unsupported_grant_type"),
    ("implicit", "unsupported_grant_type")])
async def test_grant_type_errors_item_11(browser, make_user, grant_type, error):
    client = await setup(browser, make_user)
    params = {"username": "alice", "password": "correct horse battery"}
    if grant_type:
        params["grant_type"] = grant_type
    assert_error(await token_request(browser, params, client["client_id"], client["client_secret"]), error)


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [b"grant_type=authorization_code&code=\xff\xfe", b"grant_type=authorization_code%00&code=x",
                                  b"grant_type=authorization_code&code=a%00b", b"%00=1&grant_type=refresh_token"])
async def test_malformed_form_body_is_invalid_request_item_55(browser, make_user, body):
    client = await setup(browser, make_user)
    r = await form_post(browser, "/oauth/token", body, basic_header(client["client_id"], client["client_secret"]))
    assert_error(r, "invalid_request")


@pytest.mark.gen_test
async def test_sql_injection_looking_values_item_56(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    r = await exchange(browser, {"client_id": "' OR 1=1--", "client_secret": "' OR '1'='1"}, code, verifier)
    assert_error(r, "invalid_client", 401)
    r = await exchange(browser, client, "x' UNION SELECT code_hash FROM authorization_codes--", verifier)
    assert_error(r, "invalid_grant")
    assert_error(await refresh(browser, client, "' OR 1=1--"), "invalid_grant")
    assert (await exchange(browser, client, code, verifier)).code == 200


# -- credentials (item 22) ------------------------------------------------------------------------

def test_generated_credentials_are_unique_and_long_item_22():
    tokens = [credentials.new_token() for _ in range(10_000)]
    assert len(set(tokens)) == 10_000 and min(len(t) for t in tokens) >= 43  # 256 bits, base64url
    ids = [credentials.new_client_id() for _ in range(10_000)]
    assert len(set(ids)) == 10_000 and not any(i.startswith("-") for i in ids) and min(map(len, ids)) == 32


@pytest.mark.gen_test
async def test_only_digests_are_stored(browser, make_user, db):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    body = (await exchange(browser, client, code, verifier)).json()
    for secret, table, column in [(code, "authorization_codes", "code_hash"),
                                  (body["access_token"], "tokens", "token_hash"),
                                  (body["refresh_token"], "tokens", "token_hash"),
                                  (client["client_secret"], "clients", "secret_hash")]:
        digest = hashlib.sha256(secret.encode()).digest()
        assert await count(db, table, f"{column} = ?", (digest,)) == 1
    rows = [row for t in ("tokens", "authorization_codes", "clients", "grants")
            for row in await db.fetchall(f"SELECT * FROM {t}")]
    dump = "\n".join(str(tuple(row)) for row in rows)
    assert not any(s in dump for s in (code, body["access_token"], body["refresh_token"], client["client_secret"]))


@pytest.mark.gen_test
async def test_expired_refresh_token_is_invalid_grant(browser, make_user, monkeypatch):
    client = await setup(browser, make_user)
    first = await tokens_for(browser, client)
    move_clock(monkeypatch, 31536000 + 1)
    assert_error(await refresh(browser, client, first["refresh_token"]), "invalid_grant")


@pytest.mark.gen_test
async def test_form_content_type_with_charset_is_accepted(browser, make_user):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    r = await form_post(browser, "/oauth/token", {"grant_type": "authorization_code", "code": code,
                                                  "code_verifier": verifier},
                        {**basic_header(client["client_id"], client["client_secret"]),
                         "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert r.code == 200, r.text


# -- TTL 0 -------------------------------------------------------------------------------------

class TestAccessTokensThatNeverExpire:
    @pytest.fixture
    def config_overrides(self):
        return {("oauth", "access_token_ttl"): 0, ("oauth", "refresh_token_ttl"): 0}

    @pytest.mark.gen_test
    async def test_no_expires_in_and_never_expires(self, browser, make_user, monkeypatch):
        client = await setup(browser, make_user)
        body = await tokens_for(browser, client)
        assert "expires_in" not in body
        move_clock(monkeypatch, 10 * 365 * 86400)
        assert await me(browser, body["access_token"]) == 200
        assert (await refresh(browser, client, body["refresh_token"])).code == 200


# -- concurrency ((b) concurrent code redemption, strict refresh) --------------------------------

@pytest.mark.gen_test(timeout=30)
async def test_concurrent_code_redemption_exactly_one_wins(browser, make_user, db):
    client = await setup(browser, make_user)
    code, verifier = await get_code(browser, client)
    results = await asyncio.gather(*[exchange(browser, client, code, verifier) for _ in range(10)])
    assert sorted(r.code for r in results) == [200] + [400] * 9
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.code == 400)
    assert await count(db, "grants") == 1
    assert await count(db, "grants", "revoked_at IS NOT NULL") == 1  # the losers were replays (SPEC §3)


@pytest.mark.gen_test(timeout=30)
async def test_concurrent_refresh_exactly_one_wins(browser, make_user, db):
    client = await setup(browser, make_user)
    first = await tokens_for(browser, client)
    results = await asyncio.gather(*[refresh(browser, client, first["refresh_token"]) for _ in range(10)])
    assert sorted(r.code for r in results) == [200] + [400] * 9
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.code == 400)
    assert await count(db, "tokens", "kind = 'refresh'") == 2
    assert await count(db, "grants", "revoked_at IS NOT NULL") == 1  # reuse of a spent token ends the family


@pytest.mark.gen_test
async def test_refresh_records_last_use_to_the_minute(browser, make_user, db, monkeypatch):
    """/settings/apps shows "last used" to the minute: a refresh within a minute of the
    last recorded use writes nothing more, a later one moves it."""
    client = await setup(browser, make_user)
    tokens = await tokens_for(browser, client)
    first = await db.fetchval("SELECT last_used_at FROM grants")
    move_clock(monkeypatch, 30)
    r = await refresh(browser, client, tokens["refresh_token"])
    assert r.code == 200, r.text
    assert await db.fetchval("SELECT last_used_at FROM grants") == first
    move_clock(monkeypatch, 90)
    assert (await refresh(browser, client, r.json()["refresh_token"])).code == 200
    assert await db.fetchval("SELECT last_used_at FROM grants") >= first + 60
