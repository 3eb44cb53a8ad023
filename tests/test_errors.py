"""One error model (issue 17 step 4): every error carries its status, body and headers,
and each handler base renders whatever was raised through its one `write_error`."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tornado.web

from gancio_like import errors
from gancio_like.federation.signatures import SignatureError
from gancio_like.handlers.base import JsonHandler, PageHandler
from gancio_like.oauth import errors as oauth_errors
from gancio_like.storage import errors as storage_errors

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("error, status, body, headers", [
    (errors.ValidationError("bad", "title"), 400, ("invalid_request", "bad"), {}),
    (errors.NotFound("event"), 404, ("not_found", "no such event"), {}),
    (errors.MethodNotAllowed(["GET", "OPTIONS"]), 405, ("invalid_request", "Method Not Allowed"),
     {"Allow": "GET, OPTIONS"}),
    (errors.TooManyRequests("slow", 0), 429, ("too_many_requests", "slow"), {"Retry-After": "1"}),
    (errors.Unavailable("later"), 503, ("temporarily_unavailable", "later"), {}),
    (errors.Unavailable("later", 5), 503, ("temporarily_unavailable", "later"), {"Retry-After": "5"}),
    (errors.StatusError(500, "Internal Server Error"), 500, ("server_error", "Internal Server Error"), {}),
    (errors.StatusError(403, "Forbidden"), 403, ("invalid_request", "Forbidden"), {}),
    (oauth_errors.RateLimited("slow", retry_after=30), 429, ("temporarily_unavailable", "slow"),
     {"Retry-After": "30"}),
    (oauth_errors.InvalidClient("no"), 401, ("invalid_client", "no"), {}),
    (oauth_errors.InvalidClient("no", basic=True), 401, ("invalid_client", "no"),
     {"WWW-Authenticate": 'Basic realm="fync"'}),
    (oauth_errors.InvalidToken("gone"), 401, ("invalid_token", "gone"),
     {"WWW-Authenticate": 'Bearer realm="fync", error="invalid_token", error_description="gone"'}),
    (oauth_errors.MissingToken(), 401, ("unauthorized", oauth_errors.MissingToken().description),
     {"WWW-Authenticate": 'Bearer realm="fync"'}),
    (oauth_errors.InsufficientScope("more", scope="event:write"), 403, ("insufficient_scope", "more"),
     {"WWW-Authenticate": 'Bearer realm="fync", error="insufficient_scope", error_description="more", '
                          'scope="event:write"'}),
    (oauth_errors.AccessDenied("no"), 403, ("access_denied", "no"), {}),
    (SignatureError("unsigned"), 401, ("unauthorized", "unsigned"),
     {"WWW-Authenticate": 'Signature realm="fync",headers="(request-target) host date digest"'}),
])
def test_an_error_carries_its_status_body_and_headers(error, status, body, headers):
    assert isinstance(error, errors.FyncError)
    assert error.status_code == status
    assert error.body() == {"error": body[0], "error_description": body[1]}
    assert error.headers() == headers


def test_a_description_in_a_challenge_cannot_break_the_header():
    challenge = oauth_errors.InvalidToken('x", error="forged\r\nSet-Cookie: a=b').headers()["WWW-Authenticate"]
    assert challenge.count('"') == 6 and "\r" not in challenge and "\n" not in challenge


def _write_error_definitions() -> set[str]:
    found = set()
    for path in [*ROOT.joinpath("gancio_like").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                if any(isinstance(f, ast.FunctionDef) and f.name == "write_error" for f in node.body):
                    found.add(f"{path.relative_to(ROOT)}:{node.name}")
    return found


def test_one_write_error_per_handler_base():
    """Special cases belong on the error (its headers), not in another write_error."""
    assert _write_error_definitions() == {"gancio_like/handlers/base.py:PageHandler",
                                          "gancio_like/handlers/base.py:JsonHandler"}


class Raising(JsonHandler):
    """Raises what the path names, as any handler's code might."""

    RAISED = {
        "storage-unavailable": lambda: storage_errors.Unavailable("disk I/O error at /secret/path"),
        "storage-conflict": lambda: storage_errors.Conflict("UNIQUE constraint failed: users.username"),
        "storage-other": lambda: storage_errors.StorageError("malformed statement"),
        "overflow": lambda: OverflowError("Python int too large to convert to SQLite INTEGER"),
        "tornado": lambda: tornado.web.HTTPError(400, reason="Missing argument x"),
        "bug": lambda: RuntimeError("a bug"),
    }

    def get(self, what: str) -> None:
        raise self.RAISED[what]()


class RaisingPage(PageHandler):
    get = Raising.get
    RAISED = Raising.RAISED


@pytest.fixture
def raising_app(app):
    app.add_handlers(r".*", [(r"/test/raise/([a-z-]+)", Raising), (r"/test/page/([a-z-]+)", RaisingPage)])
    return app


@pytest.mark.gen_test
@pytest.mark.parametrize("what, status, error, description, headers", [
    ("storage-unavailable", 503, "temporarily_unavailable",
     "the database cannot take writes right now; try again shortly", {"Retry-After": "5"}),
    ("storage-conflict", 409, "conflict", "another request changed the same data at the same time; try again", {}),
    ("storage-other", 500, "server_error", "Internal Server Error", {}),
    ("overflow", 400, "invalid_request", "a number in the request is too large (the most is 2**63 - 1)", {}),
    ("tornado", 400, "invalid_request", "Missing argument x", {}),
    ("bug", 500, "server_error", "Internal Server Error", {}),
])
async def test_whatever_is_raised_answers_in_one_shape(raising_app, browser, what, status, error, description,
                                                       headers):
    """Storage's errors map to HTTP in one place, and never show their own text."""
    r = await browser.get(f"/test/raise/{what}")
    assert (r.code, r.json()) == (status, {"error": error, "error_description": description})
    assert {name: r.headers.get(name) for name in headers} == headers
    page = await browser.get(f"/test/page/{what}")
    assert page.code == status and description.replace("'", "&#x27;") in page.text
    assert "<html" in page.text and "/secret/path" not in page.text and "UNIQUE" not in page.text


@pytest.mark.gen_test
async def test_405_names_the_methods_on_pages_and_json(raising_app, browser):
    for path in ("/test/raise/bug", "/test/page/bug", "/oauth/token"):
        r = await browser.request("PATCH", path, body={})  # with the page's XSRF field
        assert r.code == 405, path
        assert r.headers["Allow"] == ("GET, OPTIONS" if "raise" in path else "GET" if "page" in path
                                      else "POST, OPTIONS")
