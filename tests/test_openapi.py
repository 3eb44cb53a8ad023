"""`GET /api/openapi.json` (SPEC §4): a valid OpenAPI 3.1 document generated from the
route and scope registries, so every API route, method and scope shows up in it."""
import re
from types import SimpleNamespace

import pytest
from openapi_spec_validator import validate

from gancio_like import __version__, openapi
from gancio_like.handlers.api import PUBLIC, ApiHandler, declared_scopes, public, requires_scope
from gancio_like.handlers.openapi import api_routes
from gancio_like.scopes import ScopeRegistry


async def fetch_doc(browser) -> dict:
    r = await browser.get("/api/openapi.json")
    assert r.code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    return r.json()


def slots(path: str) -> str:
    """A documented path with its parameter names blanked, to compare with a route's shape."""
    return re.sub(r"\{[^}]+\}", "{}", path)


class Thing(ApiHandler):
    """Things people own."""

    openapi = {"GET": {"response": openapi.page_of({"type": "object"}),
                       "parameters": [{"name": "state", "in": "path", "required": True,
                                       "schema": {"type": "string", "enum": ["on", "off"]},
                                       "description": "declared by the handler"}]},
               "POST": {"request": {"type": "object", "required": ["x"]}, "status": 201}}

    @public
    def get(self, thing_id, state):
        """List a thing's parts."""

    @requires_scope("demo:write")
    def post(self, thing_id, state):
        pass


def demo_doc(routes) -> dict:
    cfg = SimpleNamespace(issuer="https://fync.example", instance=SimpleNamespace(name="Demo", description=""))
    scopes = ScopeRegistry()
    scopes.add("demo:write", "Change demo things", "test")
    return openapi.document(cfg, scopes, routes)


def thing_routes():
    pattern = r"/api/things/([0-9]+)/(on|off)$"
    scopes = {m: None if s is PUBLIC else s for m, s in declared_scopes(Thing).items()}
    return [openapi.Route(pattern, Thing, scopes)]


@pytest.mark.gen_test
async def test_document_is_valid_openapi_3_1(browser, app):
    doc = await fetch_doc(browser)
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["version"] == __version__
    assert doc["servers"] == [{"url": app.cfg.issuer}]


@pytest.mark.gen_test
async def test_every_api_route_and_method_is_documented_with_its_scope(browser, app):
    doc = await fetch_doc(browser)
    documented = {slots(path): item for path, item in doc["paths"].items()}
    checked = 0
    for rule in app.wildcard_router.rules:
        handler = rule.target
        if not (isinstance(handler, type) and issubclass(handler, ApiHandler)):
            continue
        shape = openapi.path_template(rule.matcher.regex.pattern)[1]
        assert shape in documented, f"{rule.matcher.regex.pattern} is missing"
        for method, scope in declared_scopes(handler).items():
            op = documented[shape].get(method.lower())
            assert op is not None, f"{method} {shape} is missing"
            expected = [] if scope is PUBLIC else [{"oauth2": [scope]}]
            assert op["security"] == expected, f"{method} {shape}"
            assert op["summary"]
            assert "401" in op["responses"] and "400" in op["responses"]
            assert ("403" in op["responses"]) == (scope is not PUBLIC)
            checked += 1
    assert checked >= 3  # /api, /api/me, /api/openapi.json at least


@pytest.mark.gen_test
async def test_known_operations(browser):
    paths = (await fetch_doc(browser))["paths"]
    assert paths["/api/me"]["get"]["security"] == [{"oauth2": ["profile"]}]
    assert paths["/api"]["get"]["security"] == []
    assert paths["/api/openapi.json"]["get"]["security"] == []


@pytest.mark.gen_test
async def test_oauth_endpoints_are_documented_without_bearer_security(browser):
    paths = (await fetch_doc(browser))["paths"]
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/register", "/api/client"):
        op = paths[path]["post"]
        assert "requestBody" in op, path
        assert all("oauth2" not in s for s in op["security"]), path
    token = paths["/oauth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    for alias in ("/oauth2/token", "/oauth/access_token", "/authorization/token"):
        assert alias in token["description"], alias
    assert "application/json" in paths["/oauth/register"]["post"]["requestBody"]["content"]
    assert set(paths["/oauth/register/{client_id}"]) == {"get", "put", "delete"}


@pytest.mark.gen_test
async def test_every_scope_is_in_the_security_scheme(browser, app):
    scheme = (await fetch_doc(browser))["components"]["securitySchemes"]["oauth2"]
    flow = scheme["flows"]["authorizationCode"]
    assert flow["scopes"] == {name: app.scopes.describe(name) for name in app.scopes.names()}
    assert flow["authorizationUrl"] == app.cfg.issuer + "/oauth/authorize"
    assert flow["tokenUrl"] == flow["refreshUrl"] == app.cfg.issuer + "/oauth/token"


@pytest.mark.gen_test
async def test_plugin_scopes_and_routes_added_before_first_request_appear(browser, app):
    app.scopes.add("demo:read", "Demo", "test")

    class DemoHandler(ApiHandler):
        @requires_scope("demo:read")
        def get(self, name):
            """Read a demo thing."""

    app.wildcard_router.add_rules([(r"/api/demo/([^/]+)", DemoHandler)])
    doc = await fetch_doc(browser)
    validate(doc)
    assert doc["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]["scopes"]["demo:read"] == "Demo"
    op = doc["paths"]["/api/demo/{name}"]["get"]
    assert op["security"] == [{"oauth2": ["demo:read"]}] and op["summary"] == "Read a demo thing."


@pytest.mark.gen_test
async def test_errors_use_the_error_schema(browser):
    doc = await fetch_doc(browser)
    assert doc["components"]["schemas"]["Error"]["required"] == ["error", "error_description"]
    for name in ("BadRequest", "Unauthorized", "Forbidden"):
        content = doc["components"]["responses"][name]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Error"}


def test_path_parameters_are_named_after_the_method_arguments():
    doc = demo_doc(thing_routes())
    validate(doc)
    item = doc["paths"]["/api/things/{thing_id}/{state}"]
    params = {p["name"]: p for p in item["get"]["parameters"]}
    assert params["thing_id"]["schema"] == {"type": "integer", "minimum": 0}
    assert params["state"]["description"] == "declared by the handler"  # declared replaces generated
    assert {"limit", "cursor"} <= params.keys()  # a page of items takes limit and cursor
    assert "limit" not in {p["name"] for p in item["post"]["parameters"]}


def test_handler_declarations_are_merged():
    item = demo_doc(thing_routes())["paths"]["/api/things/{thing_id}/{state}"]
    assert item["get"]["summary"] == "List a thing's parts."
    assert item["post"]["summary"] == "Things people own."  # the class docstring when the method has none
    assert item["post"]["requestBody"]["required"] is True
    assert item["post"]["requestBody"]["content"]["application/json"]["schema"]["required"] == ["x"]
    assert "201" in item["post"]["responses"] and item["post"]["security"] == [{"oauth2": ["demo:write"]}]
    assert item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["required"] == [
        "items", "next_cursor"]
    assert "404" in item["get"]["responses"]


def test_group_regexes_become_parameter_schemas():
    assert openapi.path_template(r"/api/x/([^/]+)/(?P<y>\d+)/?$") == (["[^/]+", "?P<y>\\d+"], "/api/x/{}/{}")
    assert openapi.path_template(r"/api/openapi\.json$") == ([], "/api/openapi.json")
    with pytest.raises(ValueError, match="not a plain path"):
        openapi.path_template(r"/api/x+")
    with pytest.raises(ValueError, match="only capturing groups"):
        openapi.path_template(r"/api/(?:a|b)")


def test_named_groups_keep_their_names():
    class Named(ApiHandler):
        @public
        def get(self, **kwargs):
            pass

    doc = demo_doc([openapi.Route(r"/api/n/(?P<slug>[a-z]+)$", Named, {"GET": None})])
    validate(doc)
    [param] = doc["paths"]["/api/n/{slug}"]["get"]["parameters"]
    assert param["schema"] == {"type": "string", "pattern": "^[a-z]+$"}


def test_api_routes_reads_the_router(app):
    routes = {r.pattern: r for r in api_routes(app.wildcard_router.rules)}
    assert routes[r"/api/me$"].scopes == {"GET": "profile"}
    assert routes[r"/api$"].scopes == {"GET": None}
    assert routes[r"/oauth/token$"].scopes is None  # not a bearer API handler


@pytest.mark.parametrize("config_overrides", [{("plugins", "enabled"): ["checkins"]}])
@pytest.mark.gen_test
async def test_plugin_routes_and_scopes_are_documented(browser):
    doc = await fetch_doc(browser)
    validate(doc)
    paths = {slots(path): item for path, item in doc["paths"].items()}
    assert paths["/api/checkins"]["post"]["security"] == [{"oauth2": ["checkins:write"]}]
    assert paths["/api/events/{}/checkins"]["get"]["security"] == [{"oauth2": ["checkins:read"]}]
    scopes = doc["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]["scopes"]
    assert {"checkins:read", "checkins:write"} <= scopes.keys()


@pytest.mark.gen_test
async def test_cors_preflight(browser):
    r = await browser.request("OPTIONS", "/api/openapi.json", headers={"Origin": "https://tool.example"})
    assert r.code == 204 and r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.gen_test
async def test_every_list_endpoint_documents_limit_and_cursor(browser):
    """SPEC §4: lists take ?limit= and ?cursor= — the document must say so for each."""
    doc = await fetch_doc(browser)
    for path in ("/api/friends", "/api/events", "/api/people/suggestions"):
        names = {p["name"] for p in doc["paths"][path]["get"].get("parameters", [])}
        assert {"limit", "cursor"} <= names, path
    request = doc["paths"]["/api/friends/requests"]["post"]["requestBody"]["content"]["application/json"]
    assert request["schema"]["required"] == ["to"]


@pytest.mark.gen_test
async def test_each_route_and_method_is_its_own_operation(browser):
    """SPEC §4: accept and decline are two operations, not one with an `{action}` parameter."""
    paths = (await fetch_doc(browser))["paths"]
    accept = paths["/api/friends/requests/{request_id}/accept"]["post"]
    decline = paths["/api/friends/requests/{request_id}/decline"]["post"]
    assert accept["operationId"] != decline["operationId"]
    assert accept["summary"].startswith("Accept") and decline["summary"].startswith("Decline")
    for op in (accept, decline):
        assert [p["name"] for p in op["parameters"] if p["in"] == "path"] == ["request_id"]
        assert op["security"] == [{"oauth2": ["friends:write"]}]
        assert op["responses"]["200"]["content"]["application/json"]["schema"]["required"][0] == "id"
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for path, item in paths.items():
        for op in item.values():
            assert not any(p["in"] == "path" and "enum" in p["schema"] for p in op.get("parameters", [])), path


@pytest.mark.gen_test
async def test_links_name_operations_that_exist(browser):
    """A created friend request links to its cancel, a created event to its read, change and delete."""
    paths = (await fetch_doc(browser))["paths"]
    ids = {op["operationId"] for item in paths.values() for op in item.values()}
    links = {name: link for item in paths.values() for op in item.values()
             for response in op["responses"].values() for name, link in response.get("links", {}).items()}
    assert {"cancel", "get_event", "put_event", "delete_event"} <= links.keys()
    assert {link["operationId"] for link in links.values()} <= ids


@pytest.mark.gen_test
async def test_a_method_that_takes_no_body_documents_none(browser):
    paths = (await fetch_doc(browser))["paths"]
    assert "requestBody" not in paths["/api/friends/requests/{request_id}/accept"]["post"]
    assert paths["/api/friends/requests"]["post"]["requestBody"]["required"] is True
