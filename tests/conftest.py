"""Shared fixtures: a real app on a fresh SQLite file, served by pytest-tornado
on a loopback port, a cookie-keeping `browser`, and factories for users."""
from __future__ import annotations

import http.cookies
import json
import re
import urllib.parse

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest

from gancio_like.app import make_app, open_instance
from gancio_like.config import load_config

import pg_helpers

PASSWORD = "correct horse battery"


@pytest.fixture
def config_overrides():
    """Override per test module: {("oauth", "code_ttl"): 5, ...}."""
    return {}


def pytest_collection_modifyitems(config, items):
    if not pg_helpers.SERVER_URL:
        return
    skip = pytest.mark.skip(reason="tests SQLite itself; FYNC_TEST_DATABASE_URL runs on PostgreSQL")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def database_url():
    """"" (SQLite in the test's data dir), or a fresh PostgreSQL database, dropped after."""
    if not pg_helpers.SERVER_URL:
        yield ""
        return
    url = pg_helpers.create_database()
    yield url
    pg_helpers.drop_database(url)


@pytest.fixture
def cfg(tmp_path, base_url, config_overrides, database_url):
    overrides = {("server", "data_dir"): str(tmp_path / "data"),
                 ("server", "public_url"): base_url,
                 ("federation", "allow_private_addresses"): True}
    if database_url:
        overrides[("database", "url")] = database_url
    overrides.update(config_overrides)
    empty = tmp_path / "fync.toml"  # never the checkout's own fync.toml
    empty.write_text("")
    return load_config(str(empty), env={}, overrides=overrides)


@pytest.fixture
def app(io_loop, cfg):
    inst = io_loop.run_sync(lambda: open_instance(cfg))
    application = io_loop.run_sync(lambda: make_app(inst))
    # Cheap hashing keeps the suite fast; production parameters are tested separately.
    import argon2
    application.passwords.hasher = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield application
    io_loop.run_sync(inst.db.close)


@pytest.fixture
def db(app):
    return app.db


@pytest.fixture
def inst(app):
    """The running instance, as services take it (gancio_like/instance.py)."""
    return app.instance


class Response:
    """What a test reads from a reply, whatever its status."""

    def __init__(self, resp):
        self.code = resp.code
        self.headers = resp.headers
        self.body = resp.body or b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def location_params(self) -> dict[str, str]:
        query = urllib.parse.urlsplit(self.location).query
        return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))

    def form_value(self, name: str) -> str | None:
        m = re.search(r'name="%s"[^>]*value="([^"]*)"' % re.escape(name), self.text)
        return None if m is None else m.group(1)


class Browser:
    """An HTTP client with a cookie jar that sends Tornado's `_xsrf` like a browser form."""

    def __init__(self, http_client, base_url):
        self.http, self.base = http_client, base_url
        self.cookies: dict[str, str] = {}

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    async def request(self, method: str, path: str, body=None, headers=None, xsrf=True) -> Response:
        headers = dict(headers or {})
        if isinstance(body, dict):
            if xsrf and method != "GET":
                body = {"_xsrf": await self.xsrf(), **body}
            body = urllib.parse.urlencode(body)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        req = HTTPRequest(self.url(path), method=method, body=body, headers=headers,
                          follow_redirects=False, allow_nonstandard_methods=True)
        try:
            resp = await self.http.fetch(req, raise_error=False)
        except HTTPClientError as exc:  # pragma: no cover - raise_error=False covers HTTP errors
            resp = exc.response
        self._keep(resp)
        return Response(resp)

    def _keep(self, resp) -> None:
        for header in resp.headers.get_list("Set-Cookie"):
            jar = http.cookies.SimpleCookie(header)
            for name, morsel in jar.items():
                if str(morsel["max-age"]) == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    async def xsrf(self) -> str:
        if "_xsrf" not in self.cookies:
            await self.get("/login")
        return self.cookies["_xsrf"]

    async def get(self, path: str, **kw) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body=None, **kw) -> Response:
        return await self.request("POST", path, body if body is not None else {}, **kw)

    async def login(self, username: str, password: str = PASSWORD) -> Response:
        resp = await self.post("/login", {"username": username, "password": password})
        assert resp.code in (302, 303), resp.text
        return resp


@pytest.fixture
def browser(http_client, base_url, app):
    return Browser(http_client, base_url)


@pytest.fixture
def make_browser(http_client, base_url, app):
    return lambda: Browser(http_client, base_url)


@pytest.fixture
def make_user(app):
    """`await make_user("alice", admin=False)` → the user's id."""
    from gancio_like.services.accounts import create_user

    async def make(username: str, password: str = PASSWORD, admin: bool = False, display_name: str = ""):
        return await create_user(app.db, app.passwords, username, password, display_name, admin=admin)
    return make
