"""The OpenAPI document and the server agree on what is valid (issue 16 item 5).

Each case is judged twice: by the schema `/api/openapi.json` publishes for the
operation (jsonschema, as a client generator or schemathesis would) and by the
server; the verdicts must match. The property tests check the other half of the
bargain for the patterns: every value a schema allows, the service behind it takes.
tests/test_fuzz.py runs the same comparison wide, with generated requests.
"""
from __future__ import annotations

import json
import re
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from gancio_like.handlers.api_events import EVENT_INPUT
from gancio_like.handlers.api_friends import ACCT
from gancio_like.oauth import params, registration, schemas
from gancio_like.oauth.redirect_uris import validate_redirect_uri
from gancio_like.scopes import ScopeRegistry
from gancio_like.services import events, friends
from oauth_helpers import FORM, api, full_flow, register

LISTS = ("/api/friends", "/api/people/suggestions", "/api/events")


@pytest.fixture
def every_scope_token(io_loop, browser, make_user, app):
    async def make():
        await make_user("alice")
        await browser.login("alice")
        every = " ".join(app.scopes.names())
        return (await full_flow(browser, await register(browser, scope=every), scope=every))["access_token"]
    return io_loop.run_sync(make)


# -- query parameters ------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("query, name", [("limit=", "limit"), ("limit=5&limit=50", "limit"),
                                         ("cursor=&cursor=", "cursor")])
async def test_list_parameters_are_typed_and_single(browser, every_scope_token, path, query, name):
    r = await api(browser, f"{path}?{query}", every_scope_token)
    assert r.code == 400 and r.json()["error"] == "invalid_request", r.text
    assert name in r.json()["error_description"]
    assert (await api(browser, f"{path}?limit=5&cursor=", every_scope_token)).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("past, status", [("", 400), ("yes", 400), ("1", 400), ("on", 400), ("true", 200),
                                          ("false", 200)])
async def test_past_is_a_boolean(browser, past, status):
    r = await browser.get(f"/api/events?past={past}")
    assert r.code == status, r.text
    doc = (await browser.get("/api/openapi.json")).json()
    param = {p["name"]: p for p in doc["paths"]["/api/events"]["get"]["parameters"]}["past"]
    assert param["schema"]["type"] == "boolean"


# -- bodies and path parameters: the schema's verdict is the server's -----------------------------

LONG_LABEL = "bob@" + "a" * 64 + ".example"
CASES = [  # (method, path, content type, body, valid by the document)
    ("POST", "/api/client", "form", "client_name=&redirect_uris=https%3A%2F%2Fa.example%2Fcb", False),
    ("POST", "/api/client", "form", "client_name=App&redirect_uris=https%3A%2F%2Fa.example%2Fcb", True),
    ("POST", "/api/client", "form", "client_name=App&redirect_uris=https%3A%2F%2Fa.example%2Fcb&x=1&x=2", False),
    ("POST", "/api/client", "form", "client_name=App&redirect_uris=https%3A%2F%2Fa.example%2Fcb"
                                    "&redirect_uris=https%3A%2F%2Fb.example%2Fcb", False),
    ("POST", "/api/client", "json", {"client_name": " ", "redirect_uris": ["https://a.example/cb"]}, False),
    ("POST", "/api/client", "json", {"client_name": "App", "redirect_uris": ["https://a.example/cb"],
                                     "website": "http://["}, False),
    ("POST", "/api/client", "json", {"client_name": "App", "redirect_uris": "https://a.example/cb x:/y"}, False),
    ("POST", "/oauth/register", "json", {"redirect_uris": ["https://a.example/cb"], "response_types": [""]}, False),
    ("POST", "/oauth/register", "json", {"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]},
     False),
    ("POST", "/oauth/register", "json", {"redirect_uris": [], "client_name": "App"}, False),
    ("POST", "/oauth/register", "json", {"redirect_uris": ["https://a.example/cb"], "scope": "profile nope"}, False),
    ("POST", "/oauth/register", "json", {"redirect_uris": ["http://127.0.0.1:51004/cb", "com.example.app:/cb"],
                                         "scope": " profile  event:read ", "unknown": [1, {"x": None}]}, True),
    ("POST", "/api/events", "json", {"title": "", "start_datetime": 5}, False),
    ("POST", "/api/events", "json", {"title": " \u3000", "start_datetime": 5}, False),
    ("POST", "/api/events", "json", {"title": "T", "start_datetime": 5, "description": None}, False),
    ("POST", "/api/events", "json", {"title": "T", "start_datetime": "5"}, False),
    ("POST", "/api/events", "json", {"title": "T", "start_datetime": 5.0, "end_datetime": 7.0}, True),
    ("POST", "/api/events", "json", {"title": "T", "start_datetime": 5, "tags": [""] * 21}, False),
    ("POST", "/api/events", "json", {"title": "T", "start_datetime": 5, "tags": ["a,b"]}, False),
    ("POST", "/api/events", "json", {"title": "T", "start_datetime": 5, "tags": "A, b ,,c", "published": False}, True),
    ("POST", "/api/events", "json", {"title": "T", "start_datetime": 5, "published": "yes"}, False),
    ("POST", "/api/friends/requests", "json", {"to": ""}, False),
    ("POST", "/api/friends/requests", "json", {"to": LONG_LABEL}, False),
    ("POST", "/api/friends/requests", "json", {"to": "bob@other.example:99999"}, False),
    ("POST", "/api/friends/requests", "json", {"to": "@Bob@Other.Example:8080"}, True),
    ("POST", "/api/checkins", "json", {}, False),
    ("POST", "/api/checkins", "json", {"event_id": 0}, False),
    ("DELETE", "/api/friends/%7C0", None, None, False),
    ("DELETE", f"/api/friends/{LONG_LABEL}", None, None, False),
    ("DELETE", "/api/friends/nobody", None, None, True),
]


def schema_verdict(doc: dict, method: str, path: str, content: str | None, body) -> bool:
    """Does the request fit the document (its body schema, or its path parameter's)?"""
    if content is None:  # DELETE /api/friends/{acct}
        acct = urllib.parse.unquote(path.rsplit("/", 1)[1])
        [param] = doc["paths"]["/api/friends/{acct}"]["delete"]["parameters"]
        return Draft202012Validator(param["schema"]).is_valid(acct)
    media = "application/x-www-form-urlencoded" if content == "form" else "application/json"
    schema = doc["paths"][path][method.lower()]["requestBody"]["content"][media]["schema"]
    if content == "form":
        pairs = urllib.parse.parse_qs(body, keep_blank_values=True)
        body = {name: values[0] if len(values) == 1 else values for name, values in pairs.items()}
    return Draft202012Validator(schema).is_valid(body)


@pytest.mark.gen_test
@pytest.mark.parametrize("method, path, content, body, valid", CASES, ids=range(len(CASES)))
async def test_the_server_accepts_exactly_what_the_document_calls_valid(browser, every_scope_token,
                                                                         method, path, content, body, valid):
    doc = (await browser.get("/api/openapi.json")).json()
    assert schema_verdict(doc, method, path, content, body) is valid
    headers = {"Authorization": f"Bearer {every_scope_token}"}
    if content == "form":
        headers.update(FORM)
    elif content == "json":
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    r = await browser.request(method, path, body, headers=headers, xsrf=False)
    accepted = r.code < 400 or r.code in (404, 409)  # valid, but nobody by that name: still valid
    assert accepted is valid, (r.code, r.text)
    if not valid:
        assert r.code == 400 and set(r.json()) == {"error", "error_description"}, r.text


# -- every value a pattern allows, the service takes ----------------------------------------------

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def values(schema: dict):
    """Strings fitting a string schema's pattern and length, as schemathesis would draw them."""
    pattern = schema["pattern"]
    regex = pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern
    text = st.from_regex(re.compile(regex), fullmatch=True)
    return text.filter(lambda s: schema.get("minLength", 0) <= len(s) <= schema.get("maxLength", 10 ** 9))


@QUICK
@given(values(ACCT))
def test_an_acct_the_schema_allows_parses(acct):
    name, host = friends.parse_acct("fync.example", acct)
    assert name and (host is None or friends.DOMAIN.fullmatch(host))


@QUICK
@given(values(schemas.REDIRECT_URI))
def test_a_redirect_uri_the_schema_allows_registers(uri):
    validate_redirect_uri(uri)


@QUICK
@given(values(schemas.REDIRECT_URI_LIST))
def test_a_redirect_uri_list_the_schema_allows_registers(text):
    assert 1 <= len(registration.validate_redirect_uris(text)) <= 10


@QUICK
@given(values(schemas.NAME))
def test_a_name_the_schema_allows_registers(name):
    assert registration.check_name(name)


@QUICK
@given(values(schemas.WEBSITE))
def test_a_website_the_schema_allows_registers(website):
    assert registration.check_website(website) == website


@QUICK
@given(st.data())
def test_a_scope_list_the_schema_allows_parses(data):
    scopes = ScopeRegistry({"checkins:read": "x", "checkins:write": "y"})
    text = data.draw(values(schemas.scope_list(scopes)))
    assert params.parse_scope(scopes, text) <= set(scopes.names())


@QUICK
@given(st.sampled_from(["title", "description", "place_name", "place_address"]), st.data())
def test_event_text_the_schema_allows_is_taken(field, data):
    text = data.draw(values(EVENT_INPUT["properties"][field]))
    assert isinstance(events.CHECKS[field](text), str)


@QUICK
@given(st.data())
def test_event_tags_the_schema_allows_are_taken(data):
    array, joined = EVENT_INPUT["properties"]["tags"]["oneOf"]
    tags = data.draw(st.one_of(st.lists(values(array["items"]), max_size=array["maxItems"]), values(joined)))
    assert len(events.CHECKS["tags"](tags)) <= events.MAX_TAGS
