"""Helpers for the portal, connected-apps and admin pages: fill their forms as a person would."""
from __future__ import annotations

import html
import re
import urllib.parse

from oauth_helpers import FORM, REDIRECT, consent, token_request


async def post_form(browser, path: str, pairs, xsrf: bool = True):
    """A form POST with repeated fields (e.g. several `scope` checkboxes)."""
    pairs = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    if xsrf:
        pairs.insert(0, ("_xsrf", await browser.xsrf()))
    return await browser.request("POST", path, urllib.parse.urlencode(pairs), headers=FORM, xsrf=False)


def app_form(name="My App", redirect_uris=REDIRECT, scopes=("profile", "friends:read"),
             client_type="confidential", website="https://app.example", description="Does things"):
    return [("name", name), ("description", description), ("website", website),
            ("redirect_uris", redirect_uris), ("client_type", client_type)] + [("scope", s) for s in scopes]


def field(page, element_id: str) -> str | None:
    """The value of a read-only field shown on a page (client secret, built URL, tokens)."""
    m = re.search(r'id="%s"[^>]*value="([^"]*)"' % re.escape(element_id), page.text)
    return None if m is None else html.unescape(m.group(1))


async def create_app(browser, **form) -> tuple[str, dict]:
    """Logged-in browser: create an app through /dev/new → (client_id, credentials page's fields)."""
    r = await post_form(browser, "/dev/new", app_form(**form))
    assert r.code == 303, r.text
    client_id = r.location.rsplit("/", 1)[1]
    page = await browser.get(r.location)
    assert page.code == 200, page.text
    return client_id, {"client_id": field(page, "client-id"), "client_secret": field(page, "client-secret")}


async def build_url(browser, client_id: str, redirect_uri=REDIRECT, scopes=("profile",), state="s1"):
    """The authorization URL builder's GET form → the page."""
    query = [("redirect_uri", redirect_uri), ("state", state)] + [("scope", s) for s in scopes]
    return await browser.get(f"/dev/apps/{client_id}?" + urllib.parse.urlencode(query))


async def authorize_with(browser, url: str, client: dict, redirect_uri=REDIRECT) -> dict:
    """Logged-in browser: follow a built URL, allow, exchange the code → token body."""
    r = await consent(browser, url)
    assert r.code in (302, 303), r.text
    code = r.location_params()["code"]
    r = await token_request(browser, {"grant_type": "authorization_code", "code": code,
                                      "redirect_uri": redirect_uri},
                            client["client_id"], client.get("client_secret"))
    assert r.code == 200, r.text
    return r.json()
