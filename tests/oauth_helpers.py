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
