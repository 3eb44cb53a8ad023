"""Registries are checked: every API method declares a scope, and startup refuses one that doesn't."""
import pytest

from gancio_like.handlers import routes
from gancio_like.handlers.api import PUBLIC, ApiHandler, declared_scopes, public, requires_scope


def api_routes(app):
    for rule in app.wildcard_router.rules:
        handler = rule.target
        if isinstance(handler, type) and issubclass(handler, ApiHandler):
            yield rule.matcher.regex.pattern, handler


def test_every_api_method_declares_a_known_scope(app):
    seen = 0
    for pattern, handler in api_routes(app):
        for method, scope in declared_scopes(handler).items():
            assert scope is not None, f"{pattern} {method} declares no scope"
            assert scope is PUBLIC or scope in app.scopes, f"{pattern} {method}: unknown scope {scope}"
            seen += 1
    assert seen >= 2  # /api and /api/me at least


def test_startup_refuses_undeclared_api_method():
    class Sloppy(ApiHandler):
        def get(self):
            pass

    with pytest.raises(ValueError, match="Sloppy.get"):
        routes.check_scopes_declared([(r"/api/sloppy", Sloppy)])


def test_declared_methods_pass():
    class Tidy(ApiHandler):
        @public
        def get(self):
            pass

        @requires_scope("event:write")
        def post(self):
            pass

    routes.check_scopes_declared([(r"/api/tidy", Tidy)])
    assert declared_scopes(Tidy) == {"GET": PUBLIC, "POST": "event:write"}


@pytest.mark.gen_test
async def test_unknown_api_path_is_json_404(browser):
    r = await browser.get("/api/nothing-here")
    assert r.code == 404 and r.json()["error"] == "not_found"


@pytest.mark.gen_test
async def test_unknown_page_is_html_404(browser):
    r = await browser.get("/nothing-here")
    assert r.code == 404 and "<html" in r.text


@pytest.mark.gen_test
async def test_cors_preflight_on_api_and_token(browser):
    for path in ("/api/me", "/oauth/token", "/api/client", "/oauth/register"):
        r = await browser.request("OPTIONS", path, headers={"Origin": "https://app.example",
                                                              "Access-Control-Request-Method": "POST"})
        assert r.code == 204, path
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in r.headers["Access-Control-Allow-Headers"]


@pytest.mark.gen_test
async def test_cookie_pages_send_no_cors(browser):
    for path in ("/login", "/signup", "/"):
        r = await browser.get(path, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in r.headers, path
