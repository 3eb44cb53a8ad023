"""POST /oauth/revoke (RFC 7009) and POST /oauth/introspect (RFC 7662).

SPEC §3 "Revocation and introspection"; SECURITY-CHECKLIST (a) items 31-36.
A refused or foreign revocation must leave the token working.
"""
from __future__ import annotations

import base64

import pytest

from gancio_like import clock
from oauth_helpers import (
    api, basic_header, exchange, form_post, get_code, introspect, logged_in, refresh, register, revoke,
)

REAL_NOW = clock.now


async def setup(browser, make_user, **reg):
    """A logged-in user, a client and a live token pair → (client, tokens)."""
    await logged_in(browser, make_user)
    client = await register(browser, **reg)
    code, verifier = await get_code(browser, client, scope="profile friends:read")
    r = await exchange(browser, client, code, verifier)
    assert r.code == 200, r.text
    return client, r.json()


async def works(browser, client, tokens) -> int:
    """The /api/me status with the access token (checks the token without spending the RT)."""
    return (await api(browser, "/api/me", tokens["access_token"])).code


def assert_error(r, error, status):
    assert (r.code, r.json()["error"]) == (status, error), r.text


# -- revocation -----------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_revoking_the_access_token(browser, make_user):
    client, tokens = await setup(browser, make_user)
    r = await revoke(browser, client, tokens["access_token"])
    assert r.code == 200 and r.body == b""
    assert await works(browser, client, tokens) == 401


@pytest.mark.gen_test
async def test_revoking_the_refresh_token_ends_the_family_item_32(browser, make_user):
    client, tokens = await setup(browser, make_user)
    assert (await revoke(browser, client, tokens["refresh_token"])).code == 200
    assert_error(await refresh(browser, client, tokens["refresh_token"]), "invalid_grant", 400)
    assert await works(browser, client, tokens) == 401


@pytest.mark.gen_test
async def test_revoking_a_rotated_refresh_token_ends_the_new_ones(browser, make_user):
    client, tokens = await setup(browser, make_user)
    new = (await refresh(browser, client, tokens["refresh_token"])).json()
    assert (await revoke(browser, client, tokens["refresh_token"])).code == 200
    assert await works(browser, client, new) == 401
    assert_error(await refresh(browser, client, new["refresh_token"]), "invalid_grant", 400)


@pytest.mark.gen_test
@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "foo"])
async def test_hint_is_only_a_hint_item_33(browser, make_user, hint):
    client, tokens = await setup(browser, make_user)
    assert (await revoke(browser, client, tokens["access_token"], token_type_hint=hint)).code == 200
    assert await works(browser, client, tokens) == 401


@pytest.mark.gen_test
@pytest.mark.parametrize("token", ["garbage", "' OR 1=1--", "x" * 5000])
async def test_unknown_token_is_200_item_33(browser, make_user, token):
    client, tokens = await setup(browser, make_user)
    assert (await revoke(browser, client, token)).code == 200
    assert await works(browser, client, tokens) == 200


@pytest.mark.gen_test
async def test_revoking_twice_is_200_item_33(browser, make_user):
    client, tokens = await setup(browser, make_user)
    assert [(await revoke(browser, client, tokens["refresh_token"])).code for _ in range(2)] == [200, 200]


@pytest.mark.gen_test
@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
async def test_another_client_cannot_revoke_item_34(browser, make_user, which):
    client, tokens = await setup(browser, make_user)
    other = await register(browser)
    assert (await revoke(browser, other, tokens[which])).code == 200  # RFC 7009 §2.2: nothing to tell
    assert await works(browser, client, tokens) == 200
    assert (await refresh(browser, client, tokens["refresh_token"])).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("auth", ["none", "client_id_only", "wrong_secret", "unknown_client"])
async def test_unauthenticated_revocation_is_401_item_35(browser, make_user, auth):
    client, tokens = await setup(browser, make_user)
    cid, token = client["client_id"], tokens["refresh_token"]
    r = {"none": lambda: form_post(browser, "/oauth/revoke", {"token": token}),
         "client_id_only": lambda: form_post(browser, "/oauth/revoke", {"token": token, "client_id": cid}),
         "wrong_secret": lambda: form_post(browser, "/oauth/revoke", {"token": token}, basic_header(cid, "nope")),
         "unknown_client": lambda: form_post(browser, "/oauth/revoke", {"token": token, "client_id": "nobody",
                                                                        "client_secret": "x"})}[auth]
    assert_error(await r(), "invalid_client", 401)
    assert (await refresh(browser, client, token)).code == 200


@pytest.mark.gen_test
async def test_public_client_revokes_with_client_id(browser, make_user):
    client, tokens = await setup(browser, make_user, auth_method="none")
    assert (await revoke(browser, client, tokens["refresh_token"])).code == 200
    assert await works(browser, client, tokens) == 401


@pytest.mark.gen_test
async def test_revocation_without_token_is_invalid_request(browser, make_user):
    client, tokens = await setup(browser, make_user)
    r = await form_post(browser, "/oauth/revoke", {}, basic_header(client["client_id"], client["client_secret"]))
    assert_error(r, "invalid_request", 400)
    r = await form_post(browser, "/oauth/revoke", [("token", tokens["access_token"])] * 2,
                        basic_header(client["client_id"], client["client_secret"]))
    assert_error(r, "invalid_request", 400)
    assert await works(browser, client, tokens) == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect"])
async def test_get_is_405(browser, path):
    r = await browser.get(path + "?token=x")
    assert r.code == 405 and r.json()["error"] and r.headers["Allow"] == "POST, OPTIONS"


# -- introspection ------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_live_access_token_has_every_field(browser, make_user, base_url, db):
    client, tokens = await setup(browser, make_user)
    r = await introspect(browser, client, tokens["access_token"])
    assert r.code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.json()
    user_id = await db.fetchval("SELECT id FROM users WHERE username = 'alice'")
    assert body == {"active": True, "scope": "friends:read profile", "client_id": client["client_id"],
                    "username": "alice", "sub": str(user_id), "token_type": "Bearer",
                    "exp": body["iat"] + 3600, "iat": body["iat"], "iss": base_url}
    assert abs(body["iat"] - REAL_NOW()) < 60


@pytest.mark.gen_test
async def test_live_refresh_token_is_active(browser, make_user):
    client, tokens = await setup(browser, make_user)
    body = (await introspect(browser, client, tokens["refresh_token"], token_type_hint="refresh_token")).json()
    assert body["active"] is True and body["client_id"] == client["client_id"] and body["username"] == "alice"


@pytest.mark.gen_test
async def test_other_clients_token_is_inactive_item_36(browser, make_user):
    client, tokens = await setup(browser, make_user)
    other = await register(browser)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        r = await introspect(browser, other, token)
        assert r.code == 200 and r.json() == {"active": False}
    assert (await introspect(browser, client, tokens["access_token"])).json()["active"] is True


@pytest.mark.gen_test
async def test_expired_token_is_inactive_item_36(browser, make_user, monkeypatch):
    client, tokens = await setup(browser, make_user)
    start = REAL_NOW()
    monkeypatch.setattr(clock, "now", lambda: start + 3601)
    assert (await introspect(browser, client, tokens["access_token"])).json() == {"active": False}
    assert (await introspect(browser, client, tokens["refresh_token"])).json()["active"] is True


@pytest.mark.gen_test
async def test_revoked_spent_and_unknown_tokens_are_inactive_item_36(browser, make_user):
    client, tokens = await setup(browser, make_user)
    new = (await refresh(browser, client, tokens["refresh_token"])).json()
    assert (await introspect(browser, client, tokens["refresh_token"])).json() == {"active": False}  # spent
    await revoke(browser, client, new["access_token"])
    for token in (new["access_token"], "unknown", "' OR 1=1--"):
        assert (await introspect(browser, client, token)).json() == {"active": False}
    assert (await introspect(browser, client, new["refresh_token"])).json()["active"] is True


@pytest.mark.gen_test
async def test_public_client_cannot_introspect_item_35(browser, make_user):
    client, tokens = await setup(browser, make_user, auth_method="none")
    r = await introspect(browser, client, tokens["access_token"])
    assert_error(r, "invalid_client", 401)
    assert "active" not in r.json()


@pytest.mark.gen_test
@pytest.mark.parametrize("headers, extra", [({}, {}), ({}, {"client_id": "CID"}), ("wrong", {}),
                                            ({}, {"client_id": "CID", "client_secret": "wrong"})])
async def test_unauthenticated_introspection_is_401_item_35(browser, make_user, headers, extra):
    client, tokens = await setup(browser, make_user)
    if headers == "wrong":
        headers = basic_header(client["client_id"], "wrong")
    extra = {k: client["client_id"] if v == "CID" else v for k, v in extra.items()}
    r = await form_post(browser, "/oauth/introspect", {"token": tokens["access_token"], **extra}, headers)
    assert_error(r, "invalid_client", 401)
    assert "active" not in r.json() and r.headers["Cache-Control"] == "no-store"


@pytest.mark.gen_test
async def test_introspection_without_token_is_invalid_request(browser, make_user):
    client, _ = await setup(browser, make_user)
    r = await form_post(browser, "/oauth/introspect", {}, basic_header(client["client_id"], client["client_secret"]))
    assert_error(r, "invalid_request", 400)


# -- client authentication, the same on all three form endpoints (items 27, 28, 30) ----------------

ENDPOINTS = ["/oauth/token", "/oauth/revoke", "/oauth/introspect"]


def params_for(path: str, tokens: dict) -> dict:
    if path == "/oauth/token":
        return {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    return {"token": tokens["refresh_token"]}


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ENDPOINTS)
async def test_wrong_secret_and_unknown_client_answer_identically_items_27_28(browser, make_user, path):
    client, tokens = await setup(browser, make_user)
    answers = []
    for cid, basic in [(client["client_id"], True), ("unknown", True), (client["client_id"], False), ("unknown", False)]:
        headers = basic_header(cid, "wrong") if basic else {}
        body = {**params_for(path, tokens), **({} if basic else {"client_id": cid, "client_secret": "wrong"})}
        r = await form_post(browser, path, body, headers)
        assert_error(r, "invalid_client", 401)
        assert r.headers["Cache-Control"] == "no-store"
        answers.append((r.body, r.headers.get("WWW-Authenticate")))
    assert answers[0] == answers[1] and answers[2] == answers[3]
    assert answers[0][1] == 'Basic realm="fync"' and answers[2][1] is None
    assert (await refresh(browser, client, tokens["refresh_token"])).code == 200  # nothing was revoked


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
                                    "Basic " + base64.b64encode(b"nocolon").decode(), "Basic ", "Basic %%%",
                                    "Basic " + base64.b64encode(b":secret").decode(),
                                    "Basic " + base64.b64encode(b"a%ZZ:b").decode()])
async def test_malformed_basic_is_401_not_500_item_30(browser, make_user, path, header):
    client, tokens = await setup(browser, make_user)
    assert_error(await form_post(browser, path, params_for(path, tokens), {"Authorization": header}),
                 "invalid_client", 401)
    assert (await refresh(browser, client, tokens["refresh_token"])).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ENDPOINTS)
async def test_basic_credentials_are_form_urldecoded_item_30(browser, make_user, db, path):
    client, tokens = await setup(browser, make_user)
    await db.execute("UPDATE clients SET client_id = 'my:app' WHERE client_id = ?", (client["client_id"],))
    secret = client["client_secret"]
    raw = {"Authorization": "Basic " + base64.b64encode(f"my:app:{secret}".encode()).decode()}
    assert_error(await form_post(browser, path, params_for(path, tokens), raw), "invalid_client", 401)
    encoded = basic_header("my:app", secret)
    assert encoded["Authorization"] == "Basic " + base64.b64encode(f"my%3Aapp:{secret}".encode()).decode()
    r = await form_post(browser, path, params_for(path, tokens), encoded)
    assert r.code == 200, r.text
