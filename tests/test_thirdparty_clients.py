"""Fync against a real third-party OAuth client library: Authlib's
`AsyncOAuth2Client` (httpx), talking HTTP to the live test server.

The app runs on the test's IOLoop, which is an asyncio loop, so the httpx
client is awaited inside the gen_test. Only the consent step is done by the
test's browser (a person logging in and clicking Allow).
"""
from __future__ import annotations

import secrets
import urllib.parse

import warnings

import httpx
import pytest

with warnings.catch_warnings():  # Authlib 1.9 warns about its httpx module's name on import
    import authlib.deprecate  # noqa: F401  (installs its own "always" filter; ours goes in front)
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from oauth_helpers import consent

REDIRECT = "https://thirdparty.example/callback"
SCOPE = "profile friends:read"


async def discover(base_url: str) -> dict:
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{base_url}/.well-known/oauth-authorization-server")
    assert r.status_code == 200, r.text
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
    meta = r.json()
    assert meta["issuer"] == base_url
    assert "S256" in meta["code_challenge_methods_supported"]
    for method in ("client_secret_basic", "client_secret_post", "none"):
        assert method in meta["token_endpoint_auth_methods_supported"]
    return meta


async def register(meta: dict, auth_method: str) -> dict:
    async with httpx.AsyncClient() as http:
        r = await http.post(meta["registration_endpoint"], json={
            "client_name": "Authlib app", "redirect_uris": [REDIRECT], "scope": SCOPE,
            "token_endpoint_auth_method": auth_method,
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]})
    assert r.status_code == 201, r.text
    return r.json()


async def authorize(client: AsyncOAuth2Client, meta: dict, browser) -> tuple[dict, str]:
    """Authorization URL by Authlib (PKCE S256), consent by the browser, code exchange by Authlib."""
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert q["code_challenge_method"] == "S256" and q["response_type"] == "code" and q["state"] == state

    await browser.login("alice")
    r = await consent(browser, url)
    assert r.code in (302, 303), r.text
    callback = r.location
    assert callback.startswith(REDIRECT + "?")
    assert r.location_params()["iss"] == meta["issuer"]  # RFC 9207: the client can check the issuer

    token = await client.fetch_token(meta["token_endpoint"], authorization_response=callback,
                                     state=state, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and set(token["scope"].split()) == set(SCOPE.split())
    assert token["expires_in"] == 3600 and token["refresh_token"]
    return token, verifier


async def me(client: AsyncOAuth2Client, base_url: str) -> httpx.Response:
    return await client.get(f"{base_url}/api/me")


@pytest.mark.gen_test
async def test_authlib_confidential_client_secret_basic(browser, make_user, base_url):
    await make_user("alice")
    meta = await discover(base_url)
    reg = await register(meta, "client_secret_basic")
    seen_auth = []

    async def log_request(request: httpx.Request):
        if request.url.path in ("/oauth/token", "/oauth/revoke"):
            seen_auth.append(request.headers.get("Authorization", ""))

    async with AsyncOAuth2Client(client_id=reg["client_id"], client_secret=reg["client_secret"],
                                 token_endpoint_auth_method="client_secret_basic",
                                 revocation_endpoint_auth_method="client_secret_basic",
                                 redirect_uri=REDIRECT, scope=SCOPE, code_challenge_method="S256",
                                 event_hooks={"request": [log_request]}) as client:
        first, _ = await authorize(client, meta, browser)

        r = await me(client, base_url)
        assert r.status_code == 200, r.text
        assert r.json()["username"] == "alice"

        # Forced refresh: rotation gives a new refresh token and a new access token.
        second = await client.refresh_token(meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert set(second["scope"].split()) == set(SCOPE.split())
        assert client.token["access_token"] == second["access_token"]
        r = await me(client, base_url)
        assert r.status_code == 200 and r.json()["username"] == "alice"

        # Revoking the refresh token ends its family: the access token stops working too.
        r = await client.revoke_token(meta["revocation_endpoint"], token=second["refresh_token"],
                                      token_type_hint="refresh_token")
        assert r.status_code == 200, r.text
        r = await me(client, base_url)
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")
        with pytest.raises(OAuthError) as err:
            await client.refresh_token(meta["token_endpoint"], refresh_token=second["refresh_token"])
        assert err.value.error == "invalid_grant"

    # Authlib really used HTTP Basic at the token and revocation endpoints.
    assert seen_auth and all(h.startswith("Basic ") for h in seen_auth)


@pytest.mark.gen_test
async def test_authlib_public_client_pkce_only(browser, make_user, base_url):
    await make_user("alice")
    meta = await discover(base_url)
    reg = await register(meta, "none")
    assert "client_secret" not in reg or reg["client_secret"] is None

    async with AsyncOAuth2Client(client_id=reg["client_id"], token_endpoint_auth_method="none",
                                 revocation_endpoint_auth_method="none",
                                 redirect_uri=REDIRECT, scope=SCOPE, code_challenge_method="S256") as client:
        first, verifier = await authorize(client, meta, browser)
        r = await me(client, base_url)
        assert r.status_code == 200 and r.json()["username"] == "alice"

        # Forced refresh: rotation.
        second = await client.refresh_token(meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        r = await me(client, base_url)
        assert r.status_code == 200

        # Revoking the access token (public client: client_id alone) ends it.
        r = await client.revoke_token(meta["revocation_endpoint"], token=second["access_token"],
                                      token_type_hint="access_token")
        assert r.status_code == 200, r.text
        r = await me(client, base_url)
        assert r.status_code == 401

        # Reusing the spent refresh token is caught, and the whole family ends.
        with pytest.raises(OAuthError) as err:
            await client.refresh_token(meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert err.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as err:
            await client.refresh_token(meta["token_endpoint"], refresh_token=second["refresh_token"])
        assert err.value.error == "invalid_grant"

    # Without the verifier a public client cannot redeem a code at all.
    async with AsyncOAuth2Client(client_id=reg["client_id"], token_endpoint_auth_method="none",
                                 redirect_uri=REDIRECT, scope=SCOPE, code_challenge_method="S256") as client:
        url, state = client.create_authorization_url(meta["authorization_endpoint"],
                                                     code_verifier=secrets.token_urlsafe(48))
        r = await consent(browser, url)
        with pytest.raises(OAuthError) as err:
            await client.fetch_token(meta["token_endpoint"], authorization_response=r.location, state=state)
        assert err.value.error == "invalid_grant"
