"""Discovery and client registration: RFC 8414 metadata, Gancio `POST /api/client`,
RFC 7591 `POST /oauth/register`, RFC 7592 management, instance registration modes.

SPEC §3 "Discovery", "Client registration"; SECURITY-CHECKLIST (a) items 42, 52-55.
A refused registration must leave no client behind.
"""
from __future__ import annotations

import json

import pytest

from oauth_helpers import (
    REDIRECT, authorize_url, count, exchange, form_post, get_code, logged_in, pkce_pair, post_json, register,
)

RFC7591_FIELDS = {"client_id", "client_secret", "client_id_issued_at", "client_secret_expires_at",
                  "registration_access_token", "registration_client_uri"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(r, errors=("invalid_redirect_uri", "invalid_client_metadata"), status=400):
    assert r.code == status, r.text
    assert r.json()["error"] in errors and set(r.json()) == {"error", "error_description"}


async def rfc7591(browser, body):
    return await post_json(browser, "/oauth/register", body)


async def gancio(browser, body, as_json=False):
    if as_json:
        return await post_json(browser, "/api/client", body)
    return await form_post(browser, "/api/client", body)


# -- discovery (item 42) ----------------------------------------------------------------------

@pytest.mark.gen_test
async def test_metadata_fields_item_42(browser, base_url):
    r = await browser.get("/.well-known/oauth-authorization-server")
    assert r.code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    m = r.json()
    assert m["issuer"] == base_url and "?" not in m["issuer"] and "#" not in m["issuer"]
    for key, path in [("authorization_endpoint", "/oauth/authorize"), ("token_endpoint", "/oauth/token"),
                      ("registration_endpoint", "/oauth/register"), ("revocation_endpoint", "/oauth/revoke"),
                      ("introspection_endpoint", "/oauth/introspect")]:
        assert m[key] == base_url + path
    assert m["scopes_supported"][:5] == ["profile", "friends:read", "friends:write", "event:read", "event:write"]
    assert m["response_types_supported"] == ["code"]
    assert m["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert m["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "none"]
    assert m["code_challenge_methods_supported"] == ["S256"]
    assert m["authorization_response_iss_parameter_supported"] is True
    assert m["client_id_metadata_document_supported"] is True
    assert not {"password", "implicit", "client_credentials"} & set(m["grant_types_supported"])
    assert m["service_documentation"].startswith(base_url)


# -- RFC 7591 / RFC 7592 ------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_rfc7591_201_body(browser, base_url, db):
    r = await rfc7591(browser, {"redirect_uris": [REDIRECT], "client_name": "App", "scope": "profile",
                                "client_uri": "https://app.example/"})
    assert r.code == 201 and r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert RFC7591_FIELDS <= set(body)
    assert body["client_secret_expires_at"] == 0 and isinstance(body["client_id_issued_at"], int)
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["registration_client_uri"] == f"{base_url}/oauth/register/{body['client_id']}"
    assert (body["client_name"], body["redirect_uris"], body["scope"]) == ("App", [REDIRECT], "profile")
    assert body["client_uri"] == "https://app.example/"
    assert body["grant_types"] == ["authorization_code", "refresh_token"] and body["response_types"] == ["code"]
    assert len(body["client_secret"]) >= 43 and len(body["registration_access_token"]) >= 43
    assert await db.fetchval("SELECT status FROM clients") == "active"


@pytest.mark.gen_test
async def test_public_client_gets_no_secret_and_uses_client_id_alone(browser, make_user):
    client = await register(browser, auth_method="none")
    assert "client_secret" not in client and client["token_endpoint_auth_method"] == "none"
    await logged_in(browser, make_user)
    code, verifier = await get_code(browser, client)
    assert (await exchange(browser, client, code, verifier)).code == 200


@pytest.mark.gen_test
async def test_client_cannot_pick_its_client_id_item_53(browser):
    client = await register(browser, client_id="chosen-id")
    assert client["client_id"] != "chosen-id" and not client["client_id"].startswith("-")


@pytest.mark.gen_test
async def test_rfc7592_read(browser):
    client = await register(browser)
    r = await browser.get(f"/oauth/register/{client['client_id']}", headers=bearer(client["registration_access_token"]))
    assert r.code == 200
    assert r.json()["client_id"] == client["client_id"] and r.json()["redirect_uris"] == [REDIRECT]
    assert "client_secret" not in r.json() and "client_uri" not in r.json()  # absent, never null


@pytest.mark.gen_test
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_rfc7592_wrong_token_is_401_and_changes_nothing(browser, db, method):
    client, other = await register(browser), await register(browser)
    path = f"/oauth/register/{client['client_id']}"
    body = json.dumps({"redirect_uris": ["https://evil.example/cb"], "client_id": client["client_id"]})
    for headers in ({}, bearer("wrong"), bearer(other["registration_access_token"]),
                    bearer(client["client_secret"]), bearer("two words"), {"Authorization": "Basic eDp5"}):
        r = await browser.request(method, path, body if method == "PUT" else None, xsrf=False,
                                  headers={"Content-Type": "application/json", **headers})
        assert r.code == 401 and r.json()["error"] == "invalid_token"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(await db.fetchval("SELECT redirect_uris FROM clients WHERE client_id = ?",
                                        (client["client_id"],))) == [REDIRECT]


@pytest.mark.gen_test
async def test_rfc7592_update(browser):
    client = await register(browser)
    path, token = f"/oauth/register/{client['client_id']}", client["registration_access_token"]
    new = {"client_id": client["client_id"], "redirect_uris": ["https://app.example/new"], "client_name": "Renamed",
           "scope": "profile"}
    r = await post_json(browser, path, new, bearer(token), method="PUT")
    assert r.code == 200 and r.json()["redirect_uris"] == ["https://app.example/new"]
    assert r.json()["client_name"] == "Renamed"
    assert (await browser.get(path, headers=bearer(token))).json()["client_name"] == "Renamed"


@pytest.mark.gen_test
@pytest.mark.parametrize("change", [{"client_id": "other"}, {"token_endpoint_auth_method": "none"},
                                    {"redirect_uris": ["javascript:alert(1)"]}, {"scope": "nope"}])
async def test_rfc7592_bad_update_changes_nothing(browser, change):
    client = await register(browser)
    path, token = f"/oauth/register/{client['client_id']}", client["registration_access_token"]
    body = {"client_id": client["client_id"], "redirect_uris": ["https://app.example/new"], **change}
    assert_refused(await post_json(browser, path, body, bearer(token), method="PUT"))
    assert (await browser.get(path, headers=bearer(token))).json()["redirect_uris"] == [REDIRECT]


@pytest.mark.gen_test
async def test_rfc7592_delete_ends_the_client_and_its_tokens(browser, make_user):
    client = await register(browser)
    await logged_in(browser, make_user)
    code, verifier = await get_code(browser, client)
    tokens = (await exchange(browser, client, code, verifier)).json()
    path, token = f"/oauth/register/{client['client_id']}", client["registration_access_token"]
    r = await browser.request("DELETE", path, headers=bearer(token), xsrf=False)
    assert r.code == 204
    assert (await browser.get(path, headers=bearer(token))).code == 401
    assert (await browser.get("/api/me", headers=bearer(tokens["access_token"]))).code == 401
    r = await form_post(browser, "/oauth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                                  "client_id": client["client_id"], "client_secret": client["client_secret"]})
    assert r.code == 401 and r.json()["error"] == "invalid_client"


@pytest.mark.gen_test
@pytest.mark.parametrize("change", [
    {"token_endpoint_auth_method": "private_key_jwt"}, {"grant_types": ["password"]},
    {"grant_types": ["authorization_code", "implicit"]}, {"response_types": ["token"]},
    {"scope": "profile admin"}, {"scope": ["profile"]}, {"client_name": "x" * 101}, {"client_name": 5},
    {"client_uri": "javascript:alert(1)"}, {"redirect_uris": REDIRECT}, {"redirect_uris": []},
    {"redirect_uris": [REDIRECT, 5]}, {"redirect_uris": [f"https://app.example/{i}" for i in range(11)]},
    {"redirect_uris": ["https://app.example/" + "a" * 2000]}, {"client_name": "bad\u202eeman"},
    {"client_name": "nul\u0000name"}, {"client_uri": "https://app.example/\u0000"},
])
async def test_rfc7591_bad_metadata_is_refused_item_54(browser, db, change):
    body = {"redirect_uris": [REDIRECT], "client_name": "App", **change}
    assert_refused(await rfc7591(browser, body))
    assert await count(db, "clients") == 0


# -- redirect URI rules, both endpoints (item 52) --------------------------------------------------

BAD_URIS = ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "http://evil.tld/cb",
            "https://app.example/cb#frag", "https://app.example/cb#", "https://user@app.example/cb",
            "https://*.app.example/cb", "myapp:/cb", "/relative/cb", "https://app.example/c b",
            "https://\u0430pp.example/cb", "vbscript:msgbox", "https://evil.tld\\@app.example/cb"]
GOOD_URIS = ["https://app.example/cb?x=1", "http://127.0.0.1/cb", "http://[::1]:8000/cb", "http://localhost/cb",
             "com.example.app:/cb"]


@pytest.mark.gen_test
@pytest.mark.parametrize("uri", BAD_URIS)
async def test_bad_redirect_uris_refused_on_both_endpoints_item_52(browser, db, uri):
    assert_refused(await rfc7591(browser, {"redirect_uris": [REDIRECT, uri], "client_name": "App"}),
                   ("invalid_redirect_uri",))
    assert_refused(await gancio(browser, {"client_name": "App", "redirect_uris": [uri]}, as_json=True),
                   ("invalid_redirect_uri",))
    if " " not in uri:
        assert_refused(await gancio(browser, {"client_name": "App", "redirect_uris": f"{REDIRECT} {uri}"}),
                       ("invalid_redirect_uri",))
    assert await count(db, "clients") == 0


@pytest.mark.gen_test
async def test_good_redirect_uris_accepted_item_52(browser):
    assert (await register(browser, redirect_uris=GOOD_URIS))["redirect_uris"] == GOOD_URIS
    r = await gancio(browser, {"client_name": "App", "redirect_uris": " ".join(GOOD_URIS)})
    assert r.code == 200 and r.json()["redirect_uris"] == " ".join(GOOD_URIS)


# -- Gancio POST /api/client ------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_gancio_form_registration_shape_and_defaults(browser, make_user, db):
    r = await gancio(browser, {"client_name": "Gancio app", "redirect_uris": f"{REDIRECT} https://app.example/cb2",
                               "website": "https://app.example"})
    assert r.code == 200
    body = r.json()
    assert set(body) == {"client_id", "client_secret", "name", "scopes", "website", "redirect_uris"}
    assert (body["name"], body["scopes"], body["website"]) == ("Gancio app", "event:write", "https://app.example")
    assert body["redirect_uris"] == f"{REDIRECT} https://app.example/cb2"
    await logged_in(browser, make_user)
    code, verifier = await get_code(browser, body, scope="event:write")
    r = await exchange(browser, body, code, verifier, basic=False)  # client_secret_post
    assert r.code == 200 and r.json()["scope"] == "event:write"


@pytest.mark.gen_test
@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8"])
async def test_gancio_json_registration_with_array(browser, content_type):
    r = await post_json(browser, "/api/client", {"client_name": "J", "redirect_uris": [REDIRECT],
                                                 "scopes": "profile event:read"}, {"Content-Type": content_type})
    assert r.code == 200
    assert (r.json()["redirect_uris"], r.json()["scopes"]) == (REDIRECT, "event:read profile")


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [{"redirect_uris": REDIRECT}, {"client_name": "App"},
                                  {"client_name": "App", "redirect_uris": REDIRECT, "scopes": "event:write root"},
                                  {"client_name": " ", "redirect_uris": REDIRECT}])
async def test_gancio_bad_registration_refused(browser, db, body):
    assert_refused(await gancio(browser, body))
    assert await count(db, "clients") == 0


@pytest.mark.gen_test
async def test_gancio_client_has_no_registration_management(browser, db):
    body = (await gancio(browser, {"client_name": "G", "redirect_uris": REDIRECT})).json()
    r = await browser.get(f"/oauth/register/{body['client_id']}", headers=bearer(body["client_secret"]))
    assert r.code == 401


# -- malformed bodies (item 55) ---------------------------------------------------------------------

MALFORMED = [b'{"client_name": "\xff\xfe", "redirect_uris": ["https://app.example/cb"]}',
             b'{"client_name": "a\\u0000b", "redirect_uris": ["https://app.example/cb"]}',
             b'{"client_name": "ab", "redirect_uris": ["https://app.example/cb\\u0000"]}',
             b'{"client_name": "a\x00b"}', b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
             b"", b"null", b'"string"', b"[]", b"{", b'{"redirect_uris": ["https://app.example/cb"], "client_name": '
             b'"' + b"9" * 5000 + b'", "x": ' + b"9" * 5000 + b"}"]


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/oauth/register", "/api/client"])
@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
async def test_malformed_json_is_4xx_item_55(browser, db, path, body):
    r = await post_json(browser, path, body)
    assert 400 <= r.code < 500, r.text
    assert r.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri", "invalid_request")
    assert await count(db, "clients") == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [b"client_name=%ff%fe&redirect_uris=https%3A%2F%2Fapp.example%2Fcb",
                                  b"client_name=a%00b&redirect_uris=https%3A%2F%2Fapp.example%2Fcb",
                                  b"client_name=a&redirect_uris=https%3A%2F%2Fapp.example%2Fcb%00",
                                  b"client_name=a&client_name=b&redirect_uris=https%3A%2F%2Fapp.example%2Fcb"])
async def test_malformed_gancio_form_is_400_item_55(browser, db, body):
    r = await form_post(browser, "/api/client", body)
    assert r.code == 400 and r.json()["error"] in ("invalid_request", "invalid_client_metadata")
    assert await count(db, "clients") == 0


# -- instance policy: rate limit, approval, closed --------------------------------------------------

class TestRegistrationLimit:
    @pytest.fixture
    def config_overrides(self):
        return {("oauth", "registrations_per_hour_per_ip"): 2}

    @pytest.mark.gen_test
    async def test_over_the_per_ip_limit_is_429_item_54(self, browser, db):
        await register(browser)
        assert (await gancio(browser, {"client_name": "G", "redirect_uris": REDIRECT})).code == 200
        for r in (await rfc7591(browser, {"redirect_uris": [REDIRECT]}),
                  await gancio(browser, {"client_name": "G", "redirect_uris": REDIRECT})):
            assert r.code == 429 and int(r.headers["Retry-After"]) > 0
        assert await count(db, "clients") == 2


class TestApproval:
    @pytest.fixture
    def config_overrides(self):
        return {("oauth", "registration"): "approval"}

    @pytest.mark.gen_test
    async def test_pending_client_cannot_authorize_until_approved(self, browser, make_user, db):
        client = await register(browser)
        assert await db.fetchval("SELECT status FROM clients") == "pending"
        await logged_in(browser, make_user)
        url = authorize_url(client["client_id"], challenge=pkce_pair()[1])
        r = await browser.get(url)
        assert r.code == 400 and r.location is None
        assert await count(db, "authorization_requests") == 0
        await db.execute("UPDATE clients SET status = 'active' WHERE client_id = ?", (client["client_id"],))
        r = await browser.get(url)
        assert r.code == 200 and r.form_value("request_id")


class TestClosed:
    @pytest.fixture
    def config_overrides(self):
        return {("oauth", "registration"): "closed"}

    @pytest.mark.gen_test
    async def test_closed_registration_is_403_on_both_endpoints(self, browser, db):
        for r in (await rfc7591(browser, {"redirect_uris": [REDIRECT]}),
                  await gancio(browser, {"client_name": "G", "redirect_uris": REDIRECT})):
            assert r.code == 403 and r.json()["error"] == "access_denied"
        assert await count(db, "clients") == 0


@pytest.mark.parametrize("website", ["http://[", "https://[::1/x", "http://[zz]/"])
def test_a_website_urlsplit_cannot_parse_is_refused_not_a_crash(website):
    """The developer portal checks websites with this too: a broken IPv6 host was a 500."""
    from gancio_like.oauth.errors import InvalidClientMetadata
    from gancio_like.oauth.registration import check_website
    with pytest.raises(InvalidClientMetadata, match="http"):
        check_website(website)
