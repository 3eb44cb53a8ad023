"""The five seed documents (/work/shared/seeds/), each typed literally as a client
developer reading it would: the document's URLs with only the host changed, its
parameter names, which parameters are present and which are not, and its client
authentication method (SPEC §3).

000 Fync, 001 Fyle, 002 Fusio, 003 AnyFetch, 004 Gancio. Apps are created where the
document says: the developer portal (`/dev`) for Fync, Fyle, Fusio and AnyFetch,
`POST /api/client` for Gancio. One place leaves the letter of a document, said
where it happens: Fyle's two URLs (an authorize page behind a `#` fragment of its
web app, and `/api/oauth/token`) are its own; its parameters are typed at Fync's
standard endpoints, which is what its "standard OAuth flows" promise.
"""
from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

import gancio_like.clock
from oauth_helpers import api, consent
from portal_helpers import build_url, create_app, field, post_form as portal_post

DAY = 24 * 3600
YEAR = 365 * DAY
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


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


def on_host(url: str, base_url: str) -> str:
    """A document's URL with only its scheme and host swapped for the test server's."""
    parts = urllib.parse.urlsplit(url)
    return base_url + urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))


def typed_in(template: str, **values: str) -> str:
    """A document's `…?a=&b=` URL with values typed after each `=`, in its order;
    a parameter given no value stays as the document writes it (`b=`)."""
    base, _, query = template.partition("?")
    names = [pair.removesuffix("=") for pair in query.split("&")]
    assert set(values) <= set(names), "only the document's parameters"
    return base + "?" + "&".join(f"{n}={urllib.parse.quote(values.get(n, ''), safe='')}" for n in names)


async def send(browser, method: str, path: str, body: str, headers: dict):
    """A request exactly as given: this body, these headers, no cookies' `_xsrf`."""
    return await browser.request(method, path, body, headers=headers, xsrf=False)


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


async def portal_app(browser, make_user, name: str, redirect_uris: list[str], scopes: tuple[str, ...],
                     description: str = "") -> dict:
    """Log alice in and fill `/dev/new` with what the document asks for → the credentials shown."""
    await make_user("alice")
    await browser.login("alice")
    client_id, creds = await create_app(browser, name=name, description=description, website="",
                                        redirect_uris="\n".join(redirect_uris), scopes=scopes)
    assert creds["client_id"] == client_id and creds["client_secret"], creds
    return creds


# -- 004 Gancio ------------------------------------------------------------------------------

GANCIO_KEYS = {"client_id", "client_secret", "name", "scopes", "website", "redirect_uris"}


@pytest.mark.gen_test
async def test_gancio_register_authorize_token(browser, make_user, base_url):
    await make_user("alice")
    # "Create client", as its curl sends it: `-d` joins the fields with `&`, unencoded.
    # curl -X POST -d 'client_name=Wordpress Event Manager' -d 'redirect_uris=https://noblogs.org/'
    #      -d 'website=https://myapp.example' http://localhost:13120/api/client
    r = await send(browser, "POST", on_host("http://localhost:13120/api/client", base_url),
                   "client_name=Wordpress Event Manager&redirect_uris=https://noblogs.org/"
                   "&website=https://myapp.example", FORM)
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
    r = await send(browser, "POST", "/oauth/token", query(
        client_id=app["client_id"], client_secret=app["client_secret"], scope="event:write",
        grant_type="authorization_code", code=params["code"]), FORM)
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
    r = await send(browser, "POST", "/api/client", json.dumps({
        "client_name": "Gancio mobile", "redirect_uris": ["https://app.example/cb", "com.example.gancio:/cb"],
        "scopes": "event:write profile", "website": "https://app.example"}), {"Content-Type": "application/json"})
    assert r.code == 200, r.text
    app = r.json()
    assert set(app) == GANCIO_KEYS
    assert app["name"] == "Gancio mobile" and app["website"] == "https://app.example"
    assert app["redirect_uris"] == "https://app.example/cb com.example.gancio:/cb"
    assert set(app["scopes"].split()) == {"event:write", "profile"}

    # A JSON string of space-separated URIs and no scopes works too.
    r = await send(browser, "POST", "/api/client", json.dumps({
        "client_name": "Other", "redirect_uris": "https://a.example/cb https://b.example/cb"}),
        {"Content-Type": "application/json"})
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
    r = await send(browser, "POST", "/api/client", json.dumps({"redirect_uris": "https://a.example/cb"}),
                   {"Content-Type": "application/json"})
    assert r.code == 400 and r.json()["error"] == "invalid_client_metadata"
    r = await send(browser, "POST", "/api/client", "client_name=No URIs", FORM)
    assert r.code == 400 and r.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


# -- 000 Fync --------------------------------------------------------------------------------

FYNC_CALLBACKS = ["https://fync-app.example/callback", "https://fync-app.example/other"]


@pytest.mark.gen_test
async def test_fync_portal_builder_code_flow_oauth2_token_and_bearer_header(browser, make_user, base_url):
    # Setup 1-3: in the developer portal, an app with a Name, a Description and redirect
    # URIs; its Credentials show the client ID and secret.
    creds = await portal_app(browser, make_user, "Fync Friends Sync", FYNC_CALLBACKS, ("profile", "friends:read"),
                             description="Syncs your friends network")
    cid, secret = creds["client_id"], creds["client_secret"]
    # Setup 4: choose the redirect URI you prefer and the scopes, copy the generated URL.
    page = await build_url(browser, cid, redirect_uri=FYNC_CALLBACKS[0], scopes=("profile",), state="")
    auth_url = field(page, "auth-url")
    assert auth_url.startswith(base_url + "/oauth/authorize?"), auth_url

    # Authorization 1-3: the user is sent there (window.location.href), allows, comes back with a code.
    r = await consent(browser, auth_url)
    code = redirect_params(r, FYNC_CALLBACKS[0])["code"]

    # Authorization 4: POST /oauth2/token. Two redirect URIs and no PKCE: redirect_uri is
    # required, and the error says the two ways a client may leave it out.
    r = await send(browser, "POST", "/oauth2/token", query(grant_type="authorization_code", code=code,
                                                           client_id=cid, client_secret=secret), FORM)
    assert r.code == 400 and r.json()["error"] == "invalid_grant", r.text
    assert "PKCE" in r.json()["error_description"] and "one redirect URI" in r.json()["error_description"]
    r = await send(browser, "POST", "/oauth2/token", query(grant_type="authorization_code", code=code,
                                                           redirect_uri=FYNC_CALLBACKS[0],
                                                           client_id=cid, client_secret=secret), FORM)
    tokens = assert_token_response(r, "profile")

    # Authorization 5: the access token in the Authorization header.
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

FYLE_CALLBACKS = ["https://fyle-partner.example/oauth/cb", "https://eu.fyle-partner.example/oauth/cb",
                  "http://127.0.0.1/dev-cb"]


async def fyle_refresh(browser, client: dict, refresh_token: str):
    """"The body will have the following data": grant_type 'refresh_token', refresh_token,
    client_id, client_secret (Fyle's own path is /api/oauth/token; see the module's docstring)."""
    return await send(browser, "POST", "/oauth/token", query(
        grant_type="refresh_token", refresh_token=refresh_token,
        client_id=client["client_id"], client_secret=client["client_secret"]), FORM)


@pytest.mark.gen_test
async def test_fyle_oauth_app_several_redirect_uris_state_and_refresh_in_body(browser, make_user, moved_clock):
    # "Provide us with all the redirect URIs … after clicking on 'save' you will be able to
    # copy the Client Id, Client Secret."
    client = await portal_app(browser, make_user, "Fyle partner", FYLE_CALLBACKS, ("profile",))

    # The authorize URL with client_id, response_type (code), redirect_uri, state.
    url = "/oauth/authorize?" + query(client_id=client["client_id"], response_type="code",
                                      redirect_uri=FYLE_CALLBACKS[1], state="fyle-state-42")
    r = await consent(browser, url)
    params = redirect_params(r, FYLE_CALLBACKS[1])
    assert params["state"] == "fyle-state-42"

    # "Rest of the steps are standard OAuth flows": the code for tokens (RFC 6749 §4.1.3).
    r = await send(browser, "POST", "/oauth/token", query(
        grant_type="authorization_code", code=params["code"], redirect_uri=FYLE_CALLBACKS[1],
        client_id=client["client_id"], client_secret=client["client_secret"]), FORM)
    first = assert_token_response(r, "profile", expires_in=3600)  # valid for one hour
    assert (await api(browser, "/api/me", first["access_token"])).code == 200

    # An hour later the access token is dead; the client gets a new one with the refresh token.
    moved_clock.advance(3600 + 1)
    r = await api(browser, "/api/me", first["access_token"])
    assert r.code == 401 and 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")
    second = assert_token_response(await fyle_refresh(browser, client, first["refresh_token"]), "profile")
    assert second["access_token"] != first["access_token"]
    r = await api(browser, "/api/me", second["access_token"])
    assert r.code == 200 and r.json()["username"] == "alice"

    # The refresh token is long-lived (~1 year): still good after 364 days...
    moved_clock.advance(364 * DAY)
    third = assert_token_response(await fyle_refresh(browser, client, second["refresh_token"]), "profile")
    assert (await api(browser, "/api/me", third["access_token"])).code == 200
    # ...but not after more than a year.
    moved_clock.advance(YEAR + DAY)
    r = await fyle_refresh(browser, client, third["refresh_token"])
    assert r.code == 400 and r.json()["error"] == "invalid_grant", r.text


@pytest.mark.gen_test
async def test_fyle_internal_app_gets_a_refresh_token_at_creation(browser, make_user):
    # "For internal apps, you will get the refresh token, client id and client secret when
    # creating the application": the portal's internal-app button, then the body refresh.
    client = await portal_app(browser, make_user, "Fyle internal", FYLE_CALLBACKS[:1], ("profile", "event:read"))
    r = await portal_post(browser, f"/dev/apps/{client['client_id']}/token", {})
    assert r.code == 303, r.text
    refresh_token = field(await browser.get(r.location), "refresh-token")
    assert refresh_token
    tokens = assert_token_response(await fyle_refresh(browser, client, refresh_token), "event:read profile")
    # "attached to the header of every API call"
    r = await api(browser, "/api/me", tokens["access_token"])
    assert r.code == 200 and r.json()["username"] == "alice"


@pytest.mark.gen_test
async def test_fyle_response_type_token_is_refused(browser, make_user, base_url):
    # Fyle lists `response_type (code, token)`; Fync supports only the code flow.
    client = await portal_app(browser, make_user, "Fyle partner", FYLE_CALLBACKS[:1], ("profile",))
    r = await browser.get("/oauth/authorize?" + query(client_id=client["client_id"], response_type="token",
                                                      redirect_uri=FYLE_CALLBACKS[0], state="st"))
    params = redirect_params(r, FYLE_CALLBACKS[0])
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "st" and params["iss"] == base_url and "code" not in params


# -- 002 Fusio -------------------------------------------------------------------------------

FUSIO_AUTHORIZE = "https://my_fusio_url.com/authorization/authorize?client_id=&redirect_uri=&scope=&state="
FUSIO_CALLBACK = "https://my-frontend.example/callback"


def fusio_token_request(client_id: str, secret: str, code: str) -> tuple[str, dict]:
    """The document's request, line for line (Host aside):

        POST /authorization/token HTTP/1.1
        Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW
        Content-Type: application/x-www-form-urlencoded

        grant_type=authorization_code&code=[code]
    """
    basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return f"grant_type=authorization_code&code={code}", {"Authorization": basic, **FORM}


@pytest.mark.gen_test
@pytest.mark.parametrize("scope, state", [("profile", "fusio-7"), ("", "")])  # both are "Optional"
async def test_fusio_authorization_paths_basic_auth_code_only_body(browser, make_user, base_url, scope, state):
    # An app in the backend with the app's URL; then its Client-ID/Secret.
    client = await portal_app(browser, make_user, "Fusio frontend", [FUSIO_CALLBACK], ("profile", "event:read"))
    cid, secret = client["client_id"], client["client_secret"]

    # Redirect the user to …/authorization/authorize?client_id=&redirect_uri=&scope=&state=
    # (no response_type: it means code).
    url = typed_in(on_host(FUSIO_AUTHORIZE, base_url), client_id=cid, redirect_uri=FUSIO_CALLBACK,
                   scope=scope, state=state)
    assert "response_type" not in url
    r = await consent(browser, url)
    params = redirect_params(r, FUSIO_CALLBACK)
    assert params.get("state") == (state or None) and "error" not in params

    # The token request exactly as shown: no redirect_uri (the app has one), no PKCE.
    body, headers = fusio_token_request(cid, secret, params["code"])
    r = await send(browser, "POST", "/authorization/token", body, headers)
    tokens = assert_token_response(r, scope or "event:read profile")
    r = await api(browser, "/api/me", tokens["access_token"])
    assert r.code == 200 and r.json()["username"] == "alice"

    # A wrong secret in Basic → 401 invalid_client with a Basic challenge.
    body, headers = fusio_token_request(cid, "wrong", "whatever")
    r = await send(browser, "POST", "/authorization/token", body, headers)
    assert r.code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic")


@pytest.mark.gen_test
async def test_fusio_paths_are_aliases_not_metadata(browser, base_url):
    """RFC 8414 metadata names the canonical endpoints; the aliases only answer."""
    metadata = (await browser.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["authorization_endpoint"] == f"{base_url}/oauth/authorize"
    assert metadata["token_endpoint"] == f"{base_url}/oauth/token"
    assert "/authorization/" not in json.dumps(metadata)
    r = await send(browser, "POST", "/authorization/token", "grant_type=authorization_code&code=x", FORM)
    assert r.code == 401 and r.json()["error"] == "invalid_client"  # the token endpoint's own answer
    r = await browser.get("/authorization/authorize?client_id=nobody")
    assert r.code == 400 and "unknown client_id" in r.text  # the authorization endpoint's own page


# -- 003 AnyFetch ----------------------------------------------------------------------------

ANYFETCH_AUTHORIZE = ("https://manager.anyfetch.com/oauth/authorize?client_id={CLIENT_ID}"
                      "&redirect_uri={ENCODED_REDIRECT_URI}")
ANYFETCH_TOKEN = "https://manager.anyfetch.com/oauth/access_token"
ANYFETCH_API = "https://api.anyfetch.com"
ANYFETCH_CB = "https://anyfetch-app.example/oauth/callback"


async def anyfetch_client(browser, make_user) -> dict:
    # "Developers" page: Application name, Description, Callback URI, Required scopes.
    return await portal_app(browser, make_user, "AnyFetch app", [ANYFETCH_CB], ("profile", "event:read"),
                            description="Reads your documents")


def anyfetch_authorize_url(base_url: str, client_id: str, **optional) -> str:
    """The document's URL (no response_type: it means code), plus its optional parameters."""
    url = on_host(ANYFETCH_AUTHORIZE, base_url).format(
        CLIENT_ID=client_id, ENCODED_REDIRECT_URI=urllib.parse.quote(ANYFETCH_CB, safe=""))
    return url + "".join(f"&{name}={value}" for name, value in optional.items())


async def anyfetch_exchange(browser, base_url: str, client: dict, code: str):
    """The document's curl, which sends the form content type and no redirect_uri:

        curl -XPOST https://manager.anyfetch.com/oauth/access_token \\
        --data "client_id=$CLIENT_ID&client_secret=$CLIENT_SECRET&code=$CODE&grant_type=authorization_code"
    """
    body = (f"client_id={client['client_id']}&client_secret={client['client_secret']}"
            f"&code={code}&grant_type=authorization_code")
    return await send(browser, "POST", on_host(ANYFETCH_TOKEN, base_url), body, FORM)


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("oauth", "access_token_ttl"): 0}])
async def test_anyfetch_long_lived_token_and_index(browser, make_user, base_url, moved_clock, config_overrides):
    client = await anyfetch_client(browser, make_user)
    url = anyfetch_authorize_url(base_url, client["client_id"])
    assert "response_type" not in url

    page = await browser.get(url)
    assert page.code == 200 and "AnyFetch app" in page.text  # the grant page
    r = await consent(browser, url)
    params = redirect_params(r, ANYFETCH_CB)
    r = await anyfetch_exchange(browser, base_url, client, params["code"])
    # No scope asked: the app's registered scopes. Long-lived: no expires_in.
    tokens = assert_token_response(r, "event:read profile", expires_in=None)
    token = tokens["access_token"]

    # A year later the token still works.
    moved_clock.advance(YEAR + 30 * DAY)
    r = await api(browser, "/api/me", token)
    assert r.code == 200 and r.json()["username"] == "alice"

    # `curl -H "Authorization: Bearer $TOKEN" https://api.anyfetch.com` → the user and the
    # API's URLs. The API's host is Fync's /api (SPEC §4: "like AnyFetch's /").
    r = await api(browser, on_host(ANYFETCH_API, base_url) + "/api", token)
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
async def test_anyfetch_approval_prompt_and_replace_existing_token(browser, make_user, base_url):
    client = await anyfetch_client(browser, make_user)

    async def token_from(resp) -> str:
        code = redirect_params(resp, ANYFETCH_CB)["code"]
        r = await anyfetch_exchange(browser, base_url, client, code)
        assert r.code == 200, r.text
        return r.json()["access_token"]

    async def works(token: str) -> bool:
        r = await api(browser, "/api/me", token)
        assert r.code in (200, 401), r.text
        return r.code == 200

    def url(**optional) -> str:
        return anyfetch_authorize_url(base_url, client["client_id"], **optional)

    # First time: the grant page.
    a = await token_from(await consent(browser, url()))
    # Consent is remembered: the next visit redirects at once with a code; earlier tokens stay.
    b = await token_from(await browser.get(url()))
    assert await works(a) and await works(b)

    # approval_prompt (as OAuth 2 servers of its time spell it, `force`) shows the grant page
    # again although consent is remembered; with replace_existing_token=true, allowing
    # revokes the earlier tokens.
    forced = url(replace_existing_token="true", approval_prompt="force")
    page = await browser.get(forced)
    assert page.code == 200 and 'name="decision"' in page.text, (page.code, page.location)
    assert await works(a) and await works(b)  # nothing happens before the user answers
    c = await token_from(await consent(browser, forced))
    assert not await works(a) and not await works(b)
    assert await works(c)

    # replace_existing_token=true alone: skips the grant page, redirects with a new code,
    # and the previous token is removed.
    d = await token_from(await browser.get(url(replace_existing_token="true")))
    assert not await works(c) and await works(d)


@pytest.mark.gen_test
async def test_anyfetch_code_is_valid_only_minutes(browser, make_user, base_url, moved_clock):
    client = await anyfetch_client(browser, make_user)
    r = await consent(browser, anyfetch_authorize_url(base_url, client["client_id"]))
    code = redirect_params(r, ANYFETCH_CB)["code"]
    moved_clock.advance(300 + 1)  # code_ttl = 300
    r = await anyfetch_exchange(browser, base_url, client, code)
    assert r.code == 400 and r.json()["error"] == "invalid_grant", r.text
