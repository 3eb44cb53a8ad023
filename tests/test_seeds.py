"""The five seed documents (/work/shared/seeds/), each followed step by step as a
client developer reading it would, as far as SPEC.md allows.

000 Fync, 001 Fyle, 002 Fusio, 003 AnyFetch, 004 Gancio. Where a document's
client does something SPEC does not accept (no `response_type`, a developer
portal that is not built yet), the test says so in a comment and does the
nearest thing SPEC defines.
"""
from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

import gancio_like.clock
from oauth_helpers import api, consent, register

DAY = 24 * 3600
YEAR = 365 * DAY


# -- small helpers -------------------------------------------------------------------------


class MovableClock:
    """Moves `gancio_like.clock.now` by an offset; every expiry check reads it."""

    def __init__(self, monkeypatch):
        real = gancio_like.clock.now
        self.offset = 0
        monkeypatch.setattr(gancio_like.clock, "now", lambda: real() + self.offset)

    def advance(self, seconds: int) -> None:
        self.offset += seconds


@pytest.fixture
def moved_clock(monkeypatch):
    return MovableClock(monkeypatch)


async def post_form(browser, path: str, params, headers=None):
    """A form-encoded POST without cookies' `_xsrf` (token endpoints are exempt)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return await browser.request("POST", path, urllib.parse.urlencode(params), headers=headers, xsrf=False)


async def post_json(browser, path: str, body):
    return await browser.request("POST", path, json.dumps(body),
                                 headers={"Content-Type": "application/json"}, xsrf=False)


def query(**params) -> str:
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


def redirect_params(resp, redirect_uri: str) -> dict[str, str]:
    """The query of a redirect to the client; checks it goes to `redirect_uri`."""
    assert resp.code in (302, 303), (resp.code, resp.text)
    assert resp.location.startswith(redirect_uri + "?"), resp.location
    return resp.location_params()


def assert_token_response(resp, scope: str, expires_in: int | None = 3600) -> dict:
    assert resp.code == 200, resp.text
    assert resp.headers.get("Cache-Control") == "no-store"
    body = resp.json()
    assert body["token_type"].lower() == "bearer"
    assert body["access_token"] and body["refresh_token"]
    assert body["scope"] == scope
    if expires_in is None:
        assert "expires_in" not in body, body
    else:
        assert body["expires_in"] == expires_in
    return body


# -- 004 Gancio ------------------------------------------------------------------------------

GANCIO_KEYS = {"client_id", "client_secret", "name", "scopes", "website", "redirect_uris"}


@pytest.mark.gen_test
async def test_gancio_register_authorize_token(browser, make_user, base_url):
    await make_user("alice")
    # "Create client": curl -X POST -d client_name=… -d redirect_uris=… -d website=… /api/client
    r = await post_form(browser, "/api/client", {"client_name": "Wordpress Event Manager",
                                                 "redirect_uris": "https://noblogs.org/",
                                                 "website": "https://myapp.example"})
    assert r.code == 200, r.text
    app = r.json()
    assert set(app) == GANCIO_KEYS
    assert app["name"] == "Wordpress Event Manager"
    assert app["scopes"] == "event:write"  # no scopes sent: Gancio's default
    assert app["website"] == "https://myapp.example"
    assert app["redirect_uris"] == "https://noblogs.org/"  # a string, as Gancio returns it
    assert isinstance(app["client_id"], str) and app["client_id"] and not app["client_id"].startswith("-")
    assert isinstance(app["client_secret"], str) and len(app["client_secret"]) >= 22

    # "Authorize a user": GET /authorize with response_type, redirect_uri, scope, client_id.
    # No PKCE: a confidential client may do without.
    url = "/authorize?" + query(response_type="code", redirect_uri="https://noblogs.org/",
                                scope="event:write", client_id=app["client_id"])
    r = await browser.get(url)
    assert r.code == 302
    login = urllib.parse.urlsplit(r.location)
    assert login.path == "/login"
    next_url = dict(urllib.parse.parse_qsl(login.query))["next"]
    assert next_url == url
    r = await browser.post("/login", {"username": "alice", "password": "correct horse battery", "next": next_url})
    assert r.code in (302, 303) and r.location == next_url
    page = await browser.get(r.location)
    assert page.code == 200 and "Wordpress Event Manager" in page.text and "event:write" in page.text
    r = await consent(browser, url)
    params = redirect_params(r, "https://noblogs.org/")
    assert set(params) == {"code", "iss"} and params["iss"] == base_url  # no state was sent

    # "Obtain a token": client_id, client_secret, scope, grant_type, code (and no redirect_uri).
    r = await post_form(browser, "/oauth/token", {"client_id": app["client_id"],
                                                  "client_secret": app["client_secret"],
                                                  "scope": "event:write", "grant_type": "authorization_code",
                                                  "code": params["code"]})
    tokens = assert_token_response(r, "event:write")

    # The token is an event:write token for alice: the index knows her, /api/me needs `profile`.
    r = await api(browser, "/api", tokens["access_token"])
    assert r.code == 200 and r.json()["user"]["username"] == "alice"
    r = await api(browser, "/api/me", tokens["access_token"])
    assert r.code == 403 and r.json()["error"] == "insufficient_scope"
    challenge = r.headers.get("WWW-Authenticate", "")
    assert 'error="insufficient_scope"' in challenge and 'scope="profile"' in challenge


@pytest.mark.gen_test
async def test_gancio_register_json_variant(browser, make_user):
    r = await post_json(browser, "/api/client", {"client_name": "Gancio mobile",
                                                 "redirect_uris": ["https://app.example/cb", "com.example.gancio:/cb"],
                                                 "scopes": "event:write profile",
                                                 "website": "https://app.example"})
    assert r.code == 200, r.text
    app = r.json()
    assert set(app) == GANCIO_KEYS
    assert app["name"] == "Gancio mobile" and app["website"] == "https://app.example"
    assert app["redirect_uris"] == "https://app.example/cb com.example.gancio:/cb"
    assert set(app["scopes"].split()) == {"event:write", "profile"}

    # A JSON string of space-separated URIs and no scopes works too.
    r = await post_json(browser, "/api/client", {"client_name": "Other",
                                                 "redirect_uris": "https://a.example/cb https://b.example/cb"})
    assert r.code == 200, r.text
    other = r.json()
    assert other["redirect_uris"] == "https://a.example/cb https://b.example/cb"
    assert other["scopes"] == "event:write" and other["website"] == ""

    # The JSON-registered client is usable: the custom-scheme redirect gets a code.
    await make_user("alice")
    await browser.login("alice")
    r = await consent(browser, "/authorize?" + query(response_type="code", client_id=app["client_id"],
                                                     redirect_uri="com.example.gancio:/cb", scope="event:write",
                                                     state="s1"))
    params = redirect_params(r, "com.example.gancio:/cb")
    assert params["state"] == "s1" and params["code"]

    # Missing client_name or redirect_uris → 400 invalid_client_metadata / invalid_redirect_uri.
    r = await post_json(browser, "/api/client", {"redirect_uris": "https://a.example/cb"})
    assert r.code == 400 and r.json()["error"] == "invalid_client_metadata"
    r = await post_form(browser, "/api/client", {"client_name": "No URIs"})
    assert r.code == 400 and r.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


# -- 000 Fync --------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_fync_code_flow_oauth2_token_and_bearer_header(browser, make_user, base_url):
    await make_user("alice")
    await browser.login("alice")
    # Steps 1–3 use the developer portal (/dev), which does not exist yet; the app
    # registers with RFC 7591 instead and gets the same client ID and secret.
    redirects = ("https://fync-app.example/callback", "https://fync-app.example/other")
    client = await register(browser, redirect_uris=redirects, scope="profile friends:read",
                            client_name="Fync Friends Sync")
    cid, secret = client["client_id"], client["client_secret"]

    # Step 4: the Authorization URL for the chosen redirect URI and scopes.
    auth_url = f"{base_url}/oauth/authorize?" + query(response_type="code", client_id=cid,
                                                      redirect_uri=redirects[0], scope="profile")
    # Authorization steps 1–3: the user is sent there, allows, comes back with a code.
    r = await consent(browser, auth_url)
    code = redirect_params(r, redirects[0])["code"]

    # Step 4: POST /oauth2/token. Two redirect URIs and no PKCE: redirect_uri is required.
    r = await post_form(browser, "/oauth2/token", {"grant_type": "authorization_code", "code": code,
                                                   "client_id": cid, "client_secret": secret})
    assert r.code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = await post_form(browser, "/oauth2/token", {"grant_type": "authorization_code", "code": code,
                                                   "redirect_uri": redirects[0],
                                                   "client_id": cid, "client_secret": secret})
    tokens = assert_token_response(r, "profile")

    # Step 5: the access token in the Authorization header.
    r = await api(browser, "/api/me", tokens["access_token"])
    assert r.code == 200, r.text
    me = r.json()
    assert me["username"] == "alice" and me["acct"] == f"alice@{urllib.parse.urlsplit(base_url).netloc}"
    assert me["url"] == f"{base_url}/u/alice"
    # Without the header there is no access.
    r = await api(browser, "/api/me", None)
    assert r.code == 401 and r.headers.get("WWW-Authenticate") == 'Bearer realm="fync"'
    r = await api(browser, "/api/me", tokens["access_token"] + "x")
    assert r.code == 401 and 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")


# -- 001 Fyle --------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_fyle_several_redirect_uris_state_and_refresh_in_body(browser, make_user, moved_clock):
    await make_user("alice")
    await browser.login("alice")
    # "Provide us with all the redirect URIs": several; then copy client id and secret.
    redirects = ["https://fyle-partner.example/oauth/cb", "https://eu.fyle-partner.example/oauth/cb",
                 "http://127.0.0.1/dev-cb"]
    client = await register(browser, redirect_uris=redirects, scope="profile",
                            auth_method="client_secret_post", client_name="Fyle partner")
    cid, secret = client["client_id"], client["client_secret"]

    # Authorize URL with client_id, response_type, redirect_uri, state.
    url = "/oauth/authorize?" + query(client_id=cid, response_type="code", redirect_uri=redirects[1],
                                      state="fyle-state-42")
    r = await consent(browser, url)
    params = redirect_params(r, redirects[1])
    assert params["state"] == "fyle-state-42"

    # "Rest of the steps are standard OAuth flows": the code for tokens.
    r = await post_form(browser, "/oauth/token", {"grant_type": "authorization_code", "code": params["code"],
                                                  "redirect_uri": redirects[1],
                                                  "client_id": cid, "client_secret": secret})
    first = assert_token_response(r, "profile", expires_in=3600)  # valid for one hour
    assert (await api(browser, "/api/me", first["access_token"])).code == 200

    # An hour later the access token is dead; the client gets a new one with the refresh token.
    moved_clock.advance(3600 + 1)
    r = await api(browser, "/api/me", first["access_token"])
    assert r.code == 401 and 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")
    r = await post_form(browser, "/oauth/token", {"grant_type": "refresh_token",
                                                  "refresh_token": first["refresh_token"],
                                                  "client_id": cid, "client_secret": secret})
    second = assert_token_response(r, "profile", expires_in=3600)
    assert second["access_token"] != first["access_token"]
    r = await api(browser, "/api/me", second["access_token"])
    assert r.code == 200 and r.json()["username"] == "alice"

    # The refresh token is long-lived (~1 year): still good after 364 days...
    moved_clock.advance(364 * DAY)
    r = await post_form(browser, "/oauth/token", {"grant_type": "refresh_token",
                                                  "refresh_token": second["refresh_token"],
                                                  "client_id": cid, "client_secret": secret})
    third = assert_token_response(r, "profile", expires_in=3600)
    assert (await api(browser, "/api/me", third["access_token"])).code == 200
    # ...but not after more than a year.
    moved_clock.advance(YEAR + DAY)
    r = await post_form(browser, "/oauth/token", {"grant_type": "refresh_token",
                                                  "refresh_token": third["refresh_token"],
                                                  "client_id": cid, "client_secret": secret})
    assert r.code == 400 and r.json()["error"] == "invalid_grant", r.text


@pytest.mark.gen_test
async def test_fyle_response_type_token_is_refused(browser, make_user, base_url):
    # Fyle lists `response_type (code, token)`; Fync supports only the code flow.
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser, redirect_uris=["https://fyle-partner.example/oauth/cb"], scope="profile")
    r = await browser.get("/oauth/authorize?" + query(client_id=client["client_id"], response_type="token",
                                                      redirect_uri="https://fyle-partner.example/oauth/cb",
                                                      state="st"))
    params = redirect_params(r, "https://fyle-partner.example/oauth/cb")
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "st" and params["iss"] == base_url and "code" not in params


# -- 002 Fusio -------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_fusio_basic_auth_code_only_body(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    redirect = "https://my-frontend.example/callback"
    client = await register(browser, redirect_uris=[redirect], scope="profile event:read",
                            client_name="Fusio frontend")
    cid, secret = client["client_id"], client["client_secret"]

    # /authorize?client_id=&redirect_uri=&scope=&state= . Fusio's URL has no
    # response_type; SPEC (RFC 6749 §4.1.1) requires response_type=code, so it is added.
    url = "/oauth/authorize?" + query(response_type="code", client_id=cid, redirect_uri=redirect,
                                      scope="profile", state="fusio-7")
    r = await consent(browser, url)
    params = redirect_params(r, redirect)
    assert params["state"] == "fusio-7"

    # Token request exactly as Fusio shows it: Basic base64(id:secret), body grant_type and code.
    basic = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
    r = await browser.request("POST", "/oauth/token", f"grant_type=authorization_code&code={params['code']}",
                              headers={"Authorization": basic,
                                       "Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)
    tokens = assert_token_response(r, "profile")
    r = await api(browser, "/api/me", tokens["access_token"])
    assert r.code == 200 and r.json()["username"] == "alice"

    # A wrong secret in Basic → 401 invalid_client with a Basic challenge.
    bad = "Basic " + base64.b64encode(f"{cid}:wrong".encode()).decode()
    r = await browser.request("POST", "/oauth/token", "grant_type=authorization_code&code=whatever",
                              headers={"Authorization": bad,
                                       "Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)
    assert r.code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic")


# -- 003 AnyFetch ----------------------------------------------------------------------------

ANYFETCH_CB = "https://anyfetch-app.example/oauth/callback"


async def anyfetch_client(browser) -> dict:
    # AnyFetch's "Developers" page is Fync's developer portal, not built yet: RFC 7591 instead.
    # The app sends its id and secret in the body, so it registers as client_secret_post.
    return await register(browser, redirect_uris=[ANYFETCH_CB], scope="profile event:read",
                          auth_method="client_secret_post", client_name="AnyFetch app")


def anyfetch_authorize_url(client_id: str, **extra) -> str:
    # AnyFetch's URL is /oauth/authorize?client_id=…&redirect_uri=…; SPEC requires
    # response_type=code (RFC 6749 §4.1.1), so it is added.
    return "/oauth/authorize?" + query(client_id=client_id, redirect_uri=ANYFETCH_CB, response_type="code", **extra)


async def anyfetch_exchange(browser, client: dict, code: str):
    """`curl -XPOST …/oauth/access_token --data "client_id=…&client_secret=…&code=…&grant_type=authorization_code"`"""
    body = (f"client_id={client['client_id']}&client_secret={client['client_secret']}"
            f"&code={code}&grant_type=authorization_code")
    return await browser.request("POST", "/oauth/access_token", body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("oauth", "access_token_ttl"): 0}])
async def test_anyfetch_long_lived_token_and_index(browser, make_user, base_url, moved_clock, config_overrides):
    await make_user("alice")
    await browser.login("alice")
    client = await anyfetch_client(browser)

    page = await browser.get(anyfetch_authorize_url(client["client_id"]))
    assert page.code == 200 and "AnyFetch app" in page.text  # the grant page
    r = await consent(browser, anyfetch_authorize_url(client["client_id"]))
    params = redirect_params(r, ANYFETCH_CB)
    r = await anyfetch_exchange(browser, client, params["code"])
    # No scope asked: the app's registered scopes. Long-lived: no expires_in.
    tokens = assert_token_response(r, "event:read profile", expires_in=None)
    token = tokens["access_token"]

    # A year later the token still works.
    moved_clock.advance(YEAR + 30 * DAY)
    r = await api(browser, "/api/me", token)
    assert r.code == 200 and r.json()["username"] == "alice"

    # `curl -H "Authorization: Bearer $TOKEN" https://api.anyfetch.com` → the user and the API's URLs.
    r = await api(browser, "/api", token)
    assert r.code == 200, r.text
    index = r.json()
    assert index["user"]["username"] == "alice" and index["user"]["id"]
    links = index["links"]
    assert links["me"] == f"{base_url}/api/me"
    assert links["token"] == f"{base_url}/oauth/token"
    assert links["authorize"] == f"{base_url}/oauth/authorize"
    assert all(isinstance(v, str) and v.startswith(base_url) for v in links.values())
    # Without a token the index is public but names nobody.
    r = await api(browser, "/api", None)
    assert r.code == 200 and "user" not in r.json() and r.json()["links"] == links


@pytest.mark.gen_test
async def test_anyfetch_approval_prompt_and_replace_existing_token(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await anyfetch_client(browser)

    async def token_from(resp) -> str:
        code = redirect_params(resp, ANYFETCH_CB)["code"]
        r = await anyfetch_exchange(browser, client, code)
        assert r.code == 200, r.text
        return r.json()["access_token"]

    async def works(token: str) -> bool:
        r = await api(browser, "/api/me", token)
        assert r.code in (200, 401), r.text
        return r.code == 200

    # First time: the grant page.
    a = await token_from(await consent(browser, anyfetch_authorize_url(client["client_id"])))
    # Consent is remembered: the next visit redirects at once with a code; earlier tokens stay.
    r = await browser.get(anyfetch_authorize_url(client["client_id"]))
    b = await token_from(r)
    assert await works(a) and await works(b)

    # approval_prompt=force shows the grant page again although consent is remembered;
    # with replace_existing_token=true, allowing revokes the earlier tokens.
    url = anyfetch_authorize_url(client["client_id"], approval_prompt="force", replace_existing_token="true")
    page = await browser.get(url)
    assert page.code == 200 and 'name="decision"' in page.text, (page.code, page.location)
    assert await works(a) and await works(b)  # nothing happens before the user answers
    c = await token_from(await consent(browser, url))
    assert not await works(a) and not await works(b)
    assert await works(c)

    # replace_existing_token=true alone: skips the grant page, redirects with a new code,
    # and the previous token is removed.
    r = await browser.get(anyfetch_authorize_url(client["client_id"], replace_existing_token="true"))
    d = await token_from(r)
    assert not await works(c) and await works(d)


@pytest.mark.gen_test
async def test_anyfetch_code_is_valid_only_minutes(browser, make_user, moved_clock):
    await make_user("alice")
    await browser.login("alice")
    client = await anyfetch_client(browser)
    r = await consent(browser, anyfetch_authorize_url(client["client_id"]))
    code = redirect_params(r, ANYFETCH_CB)["code"]
    moved_clock.advance(300 + 1)  # code_ttl = 300
    r = await anyfetch_exchange(browser, client, code)
    assert r.code == 400 and r.json()["error"] == "invalid_grant", r.text
