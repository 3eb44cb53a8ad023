"""Helpers for OAuth tests: register a client, run the code flow as a browser would."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.parse

REDIRECT = "https://app.example/cb"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def register(browser, redirect_uris=(REDIRECT,), scope="profile friends:read event:write",
                   auth_method="client_secret_basic", **extra) -> dict:
    """RFC 7591 registration → the 201 body."""
    body = {"redirect_uris": list(redirect_uris), "client_name": "Test App", "scope": scope,
            "token_endpoint_auth_method": auth_method, **extra}
    r = await browser.request("POST", "/oauth/register", json.dumps(body),
                              headers={"Content-Type": "application/json"}, xsrf=False)
    assert r.code == 201, r.text
    return r.json()


def authorize_url(client_id: str, redirect_uri=REDIRECT, scope="profile", state="xyz",
                  challenge: str | None = None, **extra) -> str:
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
         "scope": scope, "state": state, **extra}
    if challenge:
        q.update(code_challenge=challenge, code_challenge_method="S256")
    return "/oauth/authorize?" + urllib.parse.urlencode({k: v for k, v in q.items() if v is not None})


async def consent(browser, url: str, decision: str = "allow", untick: tuple = ()):
    """GET the authorize URL (showing consent), submit the consent form → the redirect response."""
    page = await browser.get(url)
    if page.code in (302, 303):
        return page
    assert page.code == 200, page.text
    request_id = page.form_value("request_id")
    scopes = [s for s in _checked_scopes(page.text) if s not in untick]
    body = [("_xsrf", await browser.xsrf()), ("request_id", request_id), ("decision", decision)]
    body += [("scope", s) for s in scopes]
    return await browser.request("POST", "/oauth/authorize", urllib.parse.urlencode(body),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)


def _checked_scopes(html: str) -> list[str]:
    import re
    return re.findall(r'name="scope" value="([^"]+)" checked', html)


async def token_request(browser, params: dict, client_id=None, client_secret=None, basic=True):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    params = dict(params)
    if client_id and client_secret and basic:
        cred = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
    elif client_id:
        params["client_id"] = client_id
        if client_secret:
            params["client_secret"] = client_secret
    return await browser.request("POST", "/oauth/token", urllib.parse.urlencode(params),
                                 headers=headers, xsrf=False)


async def full_flow(browser, client: dict, scope="profile", basic=True) -> dict:
    """Logged-in browser: authorize with PKCE, consent, exchange → token response body."""
    verifier, challenge = pkce_pair()
    r = await consent(browser, authorize_url(client["client_id"], scope=scope, challenge=challenge))
    assert r.code in (302, 303), r.text
    code = r.location_params()["code"]
    r = await token_request(browser, {"grant_type": "authorization_code", "code": code,
                                      "code_verifier": verifier, "redirect_uri": REDIRECT},
                            client["client_id"], client.get("client_secret"), basic=basic)
    assert r.code == 200, r.text
    return r.json()


async def api(browser, path: str, token: str | None, method="GET", body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    return await browser.request(method, path, body, headers=headers, xsrf=False)


# -- added for the hardening suites (test_oauth_authorize/token/registration/revoke_introspect/bearer) --

REDIRECT2 = "https://app.example/cb2"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def logged_in(browser, make_user, username="alice"):
    """Create `username` and log `browser` in → the user's id."""
    user_id = await make_user(username)
    await browser.login(username)
    return user_id


def basic_header(client_id: str, secret: str) -> dict:
    cred = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(cred.encode()).decode()}


async def get_code(browser, client: dict, scope="profile", pkce=True, redirect_uri=REDIRECT, **extra):
    """Logged-in browser: authorize and allow → (code, verifier or None)."""
    verifier, challenge = pkce_pair() if pkce else (None, None)
    r = await consent(browser, authorize_url(client["client_id"], redirect_uri=redirect_uri, scope=scope,
                                             challenge=challenge, **extra))
    assert r.code in (302, 303), r.text
    return r.location_params()["code"], verifier


async def exchange(browser, client: dict, code: str, verifier=None, redirect_uri=REDIRECT, basic=True, **extra):
    """grant_type=authorization_code → the raw response."""
    params = {"grant_type": "authorization_code", "code": code, **extra}
    if verifier is not None:
        params["code_verifier"] = verifier
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    return await token_request(browser, params, client["client_id"], client.get("client_secret"), basic=basic)


async def refresh(browser, client: dict, refresh_token: str, **extra):
    """grant_type=refresh_token → the raw response."""
    return await token_request(browser, {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
                               client["client_id"], client.get("client_secret"))


async def form_post(browser, path: str, params, headers=None):
    """A cookie-less form POST (params: dict or list of pairs, or a raw str/bytes body)."""
    body = params if isinstance(params, (str, bytes)) else urllib.parse.urlencode(params)
    return await browser.request("POST", path, body, headers={**FORM, **(headers or {})}, xsrf=False)


async def client_post(browser, path: str, client: dict, params: dict):
    """A form POST authenticated as `client` (Basic when it has a secret, else client_id)."""
    params = dict(params)
    if client.get("client_secret"):
        return await form_post(browser, path, params, basic_header(client["client_id"], client["client_secret"]))
    params["client_id"] = client["client_id"]
    return await form_post(browser, path, params)


async def revoke(browser, client: dict, token: str, **extra):
    return await client_post(browser, "/oauth/revoke", client, {"token": token, **extra})


async def introspect(browser, client: dict, token: str, **extra):
    return await client_post(browser, "/oauth/introspect", client, {"token": token, **extra})


async def post_json(browser, path: str, body, headers=None, method="POST"):
    """A cookie-less JSON request; `body` may be raw bytes/str."""
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return await browser.request(method, path, raw, headers={"Content-Type": "application/json", **(headers or {})},
                                 xsrf=False)


async def count(db, table: str, where: str = "1 = 1", params=()) -> int:
    return await db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
