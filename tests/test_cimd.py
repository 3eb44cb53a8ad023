"""Client ID Metadata Documents (SPEC §3) and the guarded fetcher behind them
(`gancio_like.net`, SECURITY-CHECKLIST item 60).

Documents are served by a second Tornado application on a loopback port. Tests
of refused addresses never connect anywhere: `no_connections` makes any attempt
to open an HTTP client fail the test.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from collections import Counter

import pytest
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from gancio_like import clock, net
from gancio_like.errors import FetchError
from gancio_like.oauth import cimd
from gancio_like.oauth.context import OAuthContext
from gancio_like.storage import clients as client_store
from oauth_helpers import REDIRECT, api, authorize_url, consent, pkce_pair, token_request


# -- a metadata document server on 127.0.0.1 -------------------------------------------------


class _DocHandler(tornado.web.RequestHandler):
    def initialize(self, server: "DocServer") -> None:
        self.server = server

    async def get(self) -> None:
        route = self.server.routes.get(self.request.path)
        self.server.hits[self.request.path] += 1
        if route is None:
            raise tornado.web.HTTPError(404)
        if route.get("delay"):
            await asyncio.sleep(route["delay"])
        self.set_status(route.get("status", 200))
        for name, value in route.get("headers", {}).items():
            self.set_header(name, value)
        body = route["body"]
        if route.get("chunked"):  # no Content-Length: Transfer-Encoding: chunked
            for start in range(0, len(body), 8192):
                self.write(body[start:start + 8192])
                await self.flush()
        else:
            self.write(body)


class DocServer:
    def __init__(self):
        self.routes: dict[str, dict] = {}
        self.hits: Counter = Counter()
        sock, self.port = bind_unused_port()
        self.http = HTTPServer(tornado.web.Application([(r"/.*", _DocHandler, {"server": self})]))
        self.http.add_sockets([sock])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body, **route) -> str:
        route.setdefault("headers", {}).setdefault("Content-Type", "application/json")
        self.routes[path] = {"body": body if isinstance(body, bytes) else json.dumps(body).encode(), **route}
        return self.url(path)

    def document(self, path: str = "/client.json", **fields) -> str:
        """Serve a valid document at `path` (fields override or, as None, remove) → its URL."""
        url = self.url(path)
        doc = {"client_id": url, "client_name": "Doc App", "client_uri": self.url("/"),
               "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
        doc.update(fields)
        route = {k: doc.pop(k) for k in ("headers", "status", "delay", "chunked") if k in doc}
        self.serve(path, {k: v for k, v in doc.items() if v is not None}, **route)
        return url


@pytest.fixture
def docs(io_loop):
    server = DocServer()
    yield server
    server.http.stop()
    io_loop.run_sync(server.http.close_all_connections)


@pytest.fixture
def no_connections(monkeypatch):
    class Forbidden:
        def __init__(self, *a, **kw):
            raise AssertionError("a connection was attempted")
    monkeypatch.setattr(net, "SimpleAsyncHTTPClient", Forbidden)


async def _authorize(browser, client_id: str):
    _, challenge = pkce_pair()
    return await browser.get(authorize_url(client_id, challenge=challenge))


# -- the flow --------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_full_flow_with_url_client_id(browser, make_user, docs, db):
    await make_user("alice")
    await browser.login("alice")
    client_id = docs.document()
    verifier, challenge = pkce_pair()
    page = await browser.get(authorize_url(client_id, scope="profile", challenge=challenge))
    assert page.code == 200 and "Doc App" in page.text and "app.example" in page.text
    r = await consent(browser, authorize_url(client_id, scope="profile", challenge=challenge))
    assert r.code in (302, 303) and r.location.startswith(REDIRECT + "?")
    code = r.location_params()["code"]
    r = await token_request(browser, {"grant_type": "authorization_code", "code": code,
                                      "code_verifier": verifier, "redirect_uri": REDIRECT}, client_id)
    assert r.code == 200, r.text
    tokens = r.json()
    assert tokens["scope"] == "profile"
    me = await api(browser, "/api/me", tokens["access_token"])
    assert me.code == 200 and me.json()["username"] == "alice"
    client = await client_store.get_client(db, client_id)
    assert (client.source, client.auth_method, client.status) == ("cimd", "none", "active")
    assert client.is_public and client.anonymous and client.website == docs.url("/")
    assert docs.hits["/client.json"] == 1  # consent POST and token endpoint used the cache


@pytest.mark.gen_test
async def test_public_client_needs_pkce_and_no_secret(browser, make_user, docs):
    await make_user("alice")
    await browser.login("alice")
    client_id = docs.document()
    r = await browser.get(authorize_url(client_id))  # no code_challenge
    assert r.code == 302 and r.location_params()["error"] == "invalid_request"
    r = await token_request(browser, {"grant_type": "authorization_code", "code": "x"}, client_id, "secret",
                            basic=False)
    assert r.code == 401 and r.json()["error"] == "invalid_client"


@pytest.mark.gen_test
async def test_metadata_advertises_cimd(browser):
    r = await browser.get("/.well-known/oauth-authorization-server")
    assert r.json()["client_id_metadata_document_supported"] is True


# -- documents that are refused: 400 page, never a redirect ---------------------------------


def _assert_refused(r):
    assert r.code == 400, r.text
    assert r.location is None
    assert "unknown client_id" in r.text


@pytest.mark.gen_test
@pytest.mark.parametrize("fields", [
    {"client_id": "https://other.example/client.json"},
    {"token_endpoint_auth_method": "client_secret_basic"},
    {"token_endpoint_auth_method": None},
    {"token_endpoint_auth_method": "private_key_jwt"},
    {"client_secret": "s3cret"},
    {"redirect_uris": ["http://evil.example/cb"]},
    {"redirect_uris": ["javascript:alert(1)"]},
    {"redirect_uris": "https://app.example/cb"},
    {"redirect_uris": []},
    {"redirect_uris": None},
    {"client_name": None},
    {"client_name": ""},
    {"client_uri": "javascript:alert(1)"},
    {"logo_uri": 7},
    {"scope": "nothing:here"},
], ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items())[:60])
async def test_invalid_documents_are_unknown_clients(browser, docs, fields, caplog):
    client_id = docs.document(**fields)
    with caplog.at_level(logging.WARNING, logger="fync.cimd"):
        _assert_refused(await _authorize(browser, client_id))
    warnings = [r for r in caplog.records if r.name == "fync.cimd"]
    assert len(warnings) == 1 and client_id in warnings[0].getMessage()


@pytest.mark.gen_test
async def test_client_id_mismatch_by_trailing_slash(browser, docs):
    url = docs.url("/client.json")
    docs.serve("/client.json", {"client_id": url + "/", "client_name": "X", "redirect_uris": [REDIRECT],
                                "token_endpoint_auth_method": "none"})
    _assert_refused(await _authorize(browser, url))


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b"[" * 60000])
async def test_non_object_documents_are_refused(browser, docs, body):
    _assert_refused(await _authorize(browser, docs.serve("/client.json", body)))


@pytest.mark.gen_test
@pytest.mark.parametrize("chunked", [False, True])
async def test_oversize_document_is_refused(browser, docs, chunked):
    client_id = docs.document(client_name="Big", padding="x" * 70000, chunked=chunked)
    _assert_refused(await _authorize(browser, client_id))


@pytest.mark.gen_test
async def test_document_just_under_the_cap_is_accepted(browser, docs):
    client_id = docs.document(padding="x" * 60000)
    r = await _authorize(browser, client_id)
    assert r.code == 302 and r.location.startswith("/login?")  # known client; now log in


@pytest.mark.gen_test
async def test_slow_server_is_refused(browser, docs, monkeypatch):
    monkeypatch.setattr(cimd, "FETCH_TIMEOUT", 0.3)
    client_id = docs.document(delay=1.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    _assert_refused(await _authorize(browser, client_id))
    assert loop.time() - started < 1.2


@pytest.mark.gen_test
async def test_redirect_is_refused(browser, docs):
    target = docs.document("/real.json")
    url = docs.url("/client.json")
    docs.serve("/client.json", b"", status=302, headers={"Location": target})
    _assert_refused(await _authorize(browser, url))
    assert docs.hits["/real.json"] == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("status", [404, 500, 204])
async def test_error_status_is_refused(browser, docs, status):
    _assert_refused(await _authorize(browser, docs.document(status=status)))


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/a/../client.json", "/a/%2e%2e/client.json", "/client.json#f"])
async def test_bad_client_id_urls_are_not_fetched(browser, docs, path):
    docs.document(path.split("#")[0])
    _assert_refused(await _authorize(browser, docs.url(path)))
    assert sum(docs.hits.values()) == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("oauth", "registration"): "closed"},
                                              {("oauth", "registration"): "approval"}])
async def test_cimd_only_with_open_registration(browser, docs, config_overrides):
    _assert_refused(await _authorize(browser, docs.document()))
    assert sum(docs.hits.values()) == 0


@pytest.mark.gen_test
async def test_client_uri_on_another_host_is_not_shown(browser, docs, db):
    client_id = docs.document(client_uri="https://github.io/")
    await _authorize(browser, client_id)
    assert (await client_store.get_client(db, client_id)).website == docs.url("/")


@pytest.mark.gen_test
async def test_declared_scope_narrows_the_client(browser, docs, db):
    client_id = docs.document(scope="profile event:read elsewhere:only")
    await _authorize(browser, client_id)
    assert (await client_store.get_client(db, client_id)).scopes == {"profile", "event:read"}


@pytest.mark.gen_test
async def test_without_scope_every_scope_is_possible(browser, docs, db, app):
    client_id = docs.document()
    await _authorize(browser, client_id)
    assert (await client_store.get_client(db, client_id)).scopes == set(app.scopes.names())


@pytest.mark.gen_test
async def test_the_document_comes_through_the_fetch_the_context_was_handed(app):
    """Protocol code takes its fetch from the instance (net.fetch_json in the app), with CIMD's limits."""
    url, calls = "https://app.example/client.json", []

    async def fetch_json(target, **limits):
        calls.append((target, limits))
        if len(calls) > 1:
            raise FetchError("gone")
        return ({"client_id": url, "client_name": "Handed", "redirect_uris": [REDIRECT],
                 "token_endpoint_auth_method": "none"}, {"Cache-Control": "no-store"})

    ctx = OAuthContext(app.cfg, app.db, app.scopes, fetch_json)
    assert app.oauth.fetch_json is net.fetch_json
    assert (await cimd.find_cimd_client(ctx, url)).name == "Handed"
    assert calls == [(url, {"allow_private": app.cfg.federation.allow_private_addresses,
                            "timeout": cimd.FETCH_TIMEOUT, "max_bytes": cimd.MAX_DOCUMENT_BYTES})]
    assert await cimd.find_cimd_client(ctx, url) is None  # no-store: fetched again, and it failed


# -- caching ---------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_cache_max_age_is_honoured(browser, docs, monkeypatch):
    client_id = docs.document(headers={"Cache-Control": "public, max-age=600"})
    assert (await _authorize(browser, client_id)).code == 302
    assert (await _authorize(browser, client_id)).code == 302
    assert docs.hits["/client.json"] == 1
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + 599)
    await _authorize(browser, client_id)
    assert docs.hits["/client.json"] == 1
    monkeypatch.setattr(clock, "now", lambda: start + 601)
    assert (await _authorize(browser, client_id)).code == 302
    assert docs.hits["/client.json"] == 2


@pytest.mark.gen_test
async def test_refetch_picks_up_changes_and_failures(browser, docs, db, monkeypatch):
    client_id = docs.document(headers={"Cache-Control": "max-age=60"})
    await _authorize(browser, client_id)
    docs.document(client_name="Renamed", headers={"Cache-Control": "max-age=60"})
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + 61)
    await _authorize(browser, client_id)
    assert (await client_store.get_client(db, client_id)).name == "Renamed"
    docs.document(client_id="https://elsewhere.example/x.json")  # now invalid
    monkeypatch.setattr(clock, "now", lambda: start + 200)
    _assert_refused(await _authorize(browser, client_id))  # no stale reuse


@pytest.mark.gen_test
async def test_no_store_is_never_reused(browser, docs):
    client_id = docs.document(headers={"Cache-Control": "no-store"})
    await _authorize(browser, client_id)
    await _authorize(browser, client_id)
    assert docs.hits["/client.json"] == 2


@pytest.mark.gen_test
async def test_disabled_cimd_client_stays_disabled_after_refetch(browser, docs, db, monkeypatch):
    client_id = docs.document(headers={"Cache-Control": "no-store"})
    await _authorize(browser, client_id)
    client = await client_store.get_client(db, client_id)
    async with db.transaction() as tx:
        await client_store.update_status(tx, client.pk, "disabled")
    r = await _authorize(browser, client_id)
    assert r.code == 400 and "not active" in r.text
    assert docs.hits["/client.json"] == 2


@pytest.mark.parametrize("header, seconds", [
    (None, 300), ("", 300), ("max-age=600", 600), ("public, max-age=90", 90), ('max-age="120"', 120),
    ("max-age=999999999", 86400), ("no-store", 0), ("no-cache", 0), ("max-age=0", 0),
    ("max-age=600, no-store", 0), ("max-age=abc", 300), ("max-age=-5", 300), ("private", 300),
    ("MAX-AGE=30", 30),
])
def test_cache_lifetime(header, seconds):
    assert cimd.cache_lifetime(header) == seconds


# -- the guarded fetcher ---------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/client.json",        # http, and loopback
    "https://127.0.0.1:{port}/client.json",
    "https://10.0.0.1/client.json",
    "https://[::ffff:127.0.0.1]/client.json",     # IPv4-mapped loopback
    "https://[::ffff:10.0.0.1]/client.json",
    "https://[::ffff:7f00:1]/client.json",
    "https://[::1]/client.json",
    "https://[64:ff9b::a00:1]/client.json",       # NAT64 of 10.0.0.1
    "https://[2002:a00:1::]/client.json",         # 6to4 of 10.0.0.1
    "https://[fe80::1]/client.json",
    "https://[fc00::1]/client.json",
    "https://169.254.169.254/latest/meta-data",   # cloud metadata
    "https://172.16.0.1/", "https://192.168.1.1/", "https://100.64.0.1/",
    "https://0.0.0.0/", "https://[::]/", "https://224.0.0.1/", "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://2130706433/",                        # 127.0.0.1 as one number (getaddrinfo parses it)
    "https://localhost/client.json",
    "http://localhost/client.json",
    "ftp://127.0.0.1/x", "file:///etc/passwd", "https://user:pw@127.0.0.1/x", "https:///x",
    "https://exa mple.org/", "https://ex\u00e4mple.org/",
])
async def test_private_or_unsafe_urls_are_refused_before_connecting(url, no_connections):
    with pytest.raises(net.FetchError):
        await net.fetch_json(url.format(port=1), allow_private=False)


@pytest.mark.gen_test
async def test_refused_before_connecting_message(no_connections):
    with pytest.raises(net.FetchError, match="loopback"):
        await net.fetch_json("https://[::ffff:127.0.0.1]/x", allow_private=False)
    with pytest.raises(net.FetchError, match="private"):
        await net.fetch_json("https://10.0.0.1/x", allow_private=False)
    with pytest.raises(net.FetchError, match="https"):
        await net.fetch_json("http://127.0.0.1/x", allow_private=False)


@pytest.mark.gen_test
async def test_loopback_server_is_not_contacted_without_allow_private(docs):
    url = docs.document()
    with pytest.raises(net.FetchError):
        await net.fetch_json(url, allow_private=False)
    with pytest.raises(net.FetchError):
        await net.fetch_json(url.replace("http:", "https:"), allow_private=False)
    assert sum(docs.hits.values()) == 0


@pytest.mark.gen_test
async def test_hostname_resolving_to_private_address_is_refused(monkeypatch, no_connections):
    async def resolve(self, host, port, family=socket.AF_UNSPEC):
        return [(socket.AF_INET, ("93.184.216.34", port)), (socket.AF_INET, ("10.1.2.3", port))]
    monkeypatch.setattr(net.DefaultLoopResolver, "resolve", resolve)
    with pytest.raises(net.FetchError, match="10.1.2.3"):
        await net.fetch_json("https://rebind.example/doc", allow_private=False)


@pytest.mark.gen_test
async def test_connection_goes_to_the_checked_address(docs, monkeypatch):
    """DNS rebinding: the name is resolved once; tornado connects to that answer."""
    docs.serve("/doc", {"ok": True})
    answers = [[(socket.AF_INET, ("127.0.0.1", docs.port))]]

    async def resolve(self, host, port, family=socket.AF_UNSPEC):
        if not answers:
            raise AssertionError("resolved twice")
        return answers.pop()
    monkeypatch.setattr(net.DefaultLoopResolver, "resolve", resolve)
    doc, headers = await net.fetch_json(f"http://localhost:{docs.port}/doc", allow_private=True)
    assert doc == {"ok": True} and headers["Content-Type"] == "application/json"


@pytest.mark.gen_test
async def test_fetch_limits(docs):
    docs.serve("/big", {"x": "y" * 2000})
    with pytest.raises(net.FetchError, match="larger than 1000 bytes"):
        await net.fetch_json(docs.url("/big"), allow_private=True, max_bytes=1000)
    docs.serve("/huge", {"x": "y" * 200000})  # Content-Length beyond tornado's backstop
    with pytest.raises(net.FetchError, match="larger than 1000 bytes"):
        await net.fetch_json(docs.url("/huge"), allow_private=True, max_bytes=1000)
    docs.serve("/big-chunked", {"x": "y" * 20000}, chunked=True)
    with pytest.raises(net.FetchError, match="larger than 10000 bytes"):
        await net.fetch_json(docs.url("/big-chunked"), allow_private=True, max_bytes=10000)
    docs.serve("/slow", {"ok": True}, delay=1)
    with pytest.raises(net.FetchError, match="no answer within 0.2 s"):
        await net.fetch_json(docs.url("/slow"), allow_private=True, timeout=0.2)
    docs.serve("/moved", b"", status=301, headers={"Location": docs.url("/big")})
    with pytest.raises(net.FetchError, match="redirect"):
        await net.fetch_json(docs.url("/moved"), allow_private=True)
    docs.serve("/list", [1])
    with pytest.raises(net.FetchError, match="not an object"):
        await net.fetch_json(docs.url("/list"), allow_private=True)


@pytest.mark.gen_test
async def test_fetch_connection_refused():
    sock, port = bind_unused_port()
    sock.close()  # nothing listens there now
    with pytest.raises(net.FetchError, match="fetch failed"):
        await net.fetch_json(f"http://127.0.0.1:{port}/x", allow_private=True)


@pytest.mark.parametrize("address, allowed", [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True), ("::ffff:93.184.216.34", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("169.254.169.254", False),
    ("fe80::1", False), ("ff02::1", False), ("100.64.0.1", False), ("0.0.0.0", False),
])
def test_address_problem(address, allowed):
    assert (net.address_problem(ipaddress.ip_address(address)) is None) == allowed
