"""`GET /api` (SPEC §4): the index links every endpoint, generated from the route
registry (core and plugin routes), so a new route cannot be left out."""
import re

import pytest

from gancio_like import openapi
from gancio_like.handlers.api import ApiHandler, requires_scope
from gancio_like.handlers.openapi import api_routes


def blanked(url_or_path: str) -> str:
    """A link or a route's path with its parameter names blanked, to compare shapes."""
    return re.sub(r"\{[^}]*\}", "{}", url_or_path)


async def links(browser) -> dict:
    r = await browser.get("/api")
    assert r.code == 200, r.text
    return r.json()["links"]


def api_paths(app) -> set[str]:
    """Every `/api/...` path the router serves, with `{}` where a parameter goes."""
    paths = {openapi.path_template(route.pattern)[1] for route in api_routes(app.wildcard_router.rules)}
    return {path for path in paths if path.startswith("/api/")}


@pytest.mark.gen_test
async def test_every_api_route_is_linked(browser, app, base_url):
    found = await links(browser)
    linked = {blanked(url.removeprefix(base_url)) for url in found.values()}
    paths = api_paths(app)
    assert {"/api/friends", "/api/friends/requests", "/api/people/suggestions", "/api/events"} <= paths
    assert paths - linked == set(), "routes missing from GET /api"


@pytest.mark.gen_test
async def test_links_are_named_uri_templates(browser, base_url):
    found = await links(browser)
    assert found["friends"] == f"{base_url}/api/friends"
    assert found["friend_requests"] == f"{base_url}/api/friends/requests"
    assert found["accept_friend_request"] == f"{base_url}/api/friends/requests/{{request_id}}/accept"
    assert found["decline_friend_request"] == f"{base_url}/api/friends/requests/{{request_id}}/decline"
    assert found["friend"] == f"{base_url}/api/friends/{{acct}}"
    assert found["suggestions"] == f"{base_url}/api/people/suggestions"
    assert found["events"] == f"{base_url}/api/events"
    assert found["event"] == f"{base_url}/api/events/{{event_id}}"
    # The names clients already use stay, and the OAuth endpoints are the canonical ones.
    assert found["me"] == f"{base_url}/api/me"
    assert found["openapi"] == f"{base_url}/api/openapi.json"
    assert found["gancio_register"] == f"{base_url}/api/client"
    assert found["authorize"] == f"{base_url}/oauth/authorize"
    assert found["token"] == f"{base_url}/oauth/token"
    assert found["revoke"] == f"{base_url}/oauth/revoke"
    assert found["introspect"] == f"{base_url}/oauth/introspect"
    assert found["register"] == f"{base_url}/oauth/register"
    assert found["oauth_metadata"] == f"{base_url}/.well-known/oauth-authorization-server"


@pytest.mark.parametrize("config_overrides", [{("plugins", "enabled"): ["checkins"]}])
@pytest.mark.gen_test
async def test_plugin_routes_are_linked(browser, app, base_url):
    found = await links(browser)
    assert found["checkins"] == f"{base_url}/api/checkins"
    assert found["event_checkins"] == f"{base_url}/api/events/{{event_id}}/checkins"
    assert "/api/events/{}/checkins" in api_paths(app)


@pytest.mark.gen_test
async def test_a_route_added_before_the_first_request_is_linked_once_even_when_its_name_is_taken(
        browser, app, base_url):
    class EventHandler(ApiHandler):  # the same name as the core handler of /api/events/{event_id}
        @requires_scope("profile")
        def get(self, slug):
            pass

    app.wildcard_router.add_rules([(r"/api/demo/([a-z]+)", EventHandler)])
    found = await links(browser)
    assert found["event"] == f"{base_url}/api/events/{{event_id}}"
    assert [name for name, url in found.items() if url == f"{base_url}/api/demo/{{slug}}"] == ["event_2"]
