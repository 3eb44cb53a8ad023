"""The authorization-code flow end to end, as a client and a person would drive it."""
import pytest

from oauth_helpers import REDIRECT, api, authorize_url, consent, full_flow, pkce_pair, register, token_request


@pytest.mark.gen_test
async def test_code_flow_with_pkce_then_me(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser)
    tokens = await full_flow(browser, client, scope="profile")
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "profile"
    assert tokens["expires_in"] == 3600
    r = await api(browser, "/api/me", tokens["access_token"])
    assert r.code == 200 and r.json()["username"] == "alice"


@pytest.mark.gen_test
async def test_remembered_consent_redirects_at_once(browser, make_user, base_url):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser)
    await full_flow(browser, client)
    _, challenge = pkce_pair()
    r = await browser.get(authorize_url(client["client_id"], challenge=challenge))
    assert r.code == 302
    params = r.location_params()
    assert r.location.startswith(REDIRECT + "?") and params["state"] == "xyz" and params["iss"] == base_url


@pytest.mark.gen_test
async def test_refresh_rotation_and_reuse_revokes_family(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser)
    first = await full_flow(browser, client)
    cid, secret = client["client_id"], client["client_secret"]
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, cid, secret)
    assert r.code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, cid, secret)
    assert r.code == 400 and r.json()["error"] == "invalid_grant"
    assert (await api(browser, "/api/me", second["access_token"])).code == 401
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}, cid, secret)
    assert r.json()["error"] == "invalid_grant"


@pytest.mark.gen_test
async def test_partial_consent_narrows_token(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser)
    verifier, challenge = pkce_pair()
    r = await consent(browser, authorize_url(client["client_id"], scope="profile friends:read", challenge=challenge),
                      untick=("friends:read",))
    code = r.location_params()["code"]
    r = await token_request(browser, {"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
                            client["client_id"], client["client_secret"])
    assert r.json()["scope"] == "profile"
