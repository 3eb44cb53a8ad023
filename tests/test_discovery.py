"""Instance discovery (SPEC §5): WebFinger and NodeInfo on the live app, and the
client library's `discover()` (SPEC §8) against it and against small loopback
servers that play broken or hostile hosts.

The network here is loopback only: tests of refused URLs assert that no HTTP
client is even created (`no_connections`), and "remote" hosts are played by a
fake transport.
"""
from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import pytest
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from gancio_like import __version__
from gancio_like.client import (BadTarget, HandleNotFound, InsecureURL, Instance, IssuerMismatch, NotAnInstance,
                                Redirected, Unreachable, discover, origin_of)
from gancio_like.client import http as client_http

JRD = "application/jrd+json"


@pytest.fixture
def domain(base_url):
    return urlsplit(base_url).netloc  # localhost:PORT, the app's cfg.domain


@pytest.fixture
def live(http_server):
    """The app, served on base_url (pytest-tornado starts it only when asked)."""
    return http_server


def webfinger(resource: str) -> str:
    return "/.well-known/webfinger?resource=" + quote(resource, safe="")


# -- a loopback server that plays other hosts ------------------------------------------------------


class _Handler(tornado.web.RequestHandler):
    def initialize(self, routes: dict) -> None:
        self.routes = routes

    def get(self) -> None:
        status, body, headers = self.routes.get(self.request.path, (404, {"error": "not_found"}, {}))
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name, value)
        self.finish(body if isinstance(body, (bytes, str)) else json.dumps(body))


class FakeHost:
    """`routes[path] = (status, body, headers)`; anything else is a 404."""

    def __init__(self):
        self.routes: dict = {}
        sock, self.port = bind_unused_port()
        self.server = HTTPServer(tornado.web.Application([(r"/.*", _Handler, {"routes": self.routes})]))
        self.server.add_sockets([sock])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metadata(self, **fields) -> None:
        meta = {"issuer": self.origin, "authorization_endpoint": self.origin + "/oauth/authorize",
                "token_endpoint": self.origin + "/oauth/token", "code_challenge_methods_supported": ["S256"]}
        meta.update(fields)
        self.routes["/.well-known/oauth-authorization-server"] = (200, meta, {})


@pytest.fixture
def fake_host(io_loop):
    host = FakeHost()
    yield host
    host.server.stop()


@pytest.fixture
def no_connections(monkeypatch):
    """Fail the test if the client library so much as creates an HTTP client."""
    class Refused:
        def __init__(self, *args, **kwargs):
            raise AssertionError("the client library tried to connect")
    monkeypatch.setattr(client_http, "AsyncHTTPClient", Refused)


@pytest.fixture
def fake_remote(monkeypatch):
    """Answer `client_http.fetch` from a dict {url: (status, body)}; record every URL asked."""
    answers, asked = {}, []

    async def fetch(url, method="GET", **kwargs):
        client_http.check_url(url)
        asked.append(url)
        status, body = answers.get(url, (404, {}))
        return client_http.Reply(url, status, {}, json.dumps(body).encode())
    monkeypatch.setattr(client_http, "fetch", fetch)
    return answers, asked


# -- WebFinger (RFC 7033) ------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_webfinger_describes_a_local_user(browser, make_user, base_url, domain):
    await make_user("alice")
    r = await browser.get(webfinger(f"acct:alice@{domain}"))
    assert r.code == 200, r.text
    assert r.headers["Content-Type"] == JRD
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.json() == {
        "subject": f"acct:alice@{domain}",
        "aliases": [f"{base_url}/users/alice", f"{base_url}/u/alice"],
        "links": [{"rel": "self", "type": "application/activity+json", "href": f"{base_url}/users/alice"},
                  {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                   "href": f"{base_url}/u/alice"}]}


@pytest.mark.gen_test
async def test_webfinger_ignores_case_of_scheme_name_and_domain(browser, make_user, domain):
    await make_user("alice")
    r = await browser.get(webfinger(f"ACCT:Alice@{domain.upper()}"))
    assert r.code == 200 and r.json()["subject"] == f"acct:alice@{domain}"


@pytest.mark.gen_test
async def test_webfinger_accepts_the_actor_url(browser, make_user, base_url, domain):
    await make_user("alice")
    r = await browser.get(webfinger(f"{base_url}/users/alice"))
    assert r.code == 200 and r.json()["subject"] == f"acct:alice@{domain}"


@pytest.mark.gen_test
async def test_webfinger_rel_filters_links(browser, make_user, domain):
    await make_user("alice")
    r = await browser.get(webfinger(f"acct:alice@{domain}") + "&rel=self")
    assert [link["rel"] for link in r.json()["links"]] == ["self"]


@pytest.mark.gen_test
async def test_webfinger_unknown_user_is_404(browser, make_user, domain):
    await make_user("alice")
    r = await browser.get(webfinger(f"acct:bob@{domain}"))
    assert r.code == 404
    assert r.json()["error"] == "not_found" and r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.gen_test
async def test_webfinger_other_domain_is_404_even_for_a_local_name(browser, make_user, domain):
    await make_user("alice")
    r = await browser.get(webfinger("acct:alice@other.example"))
    assert r.code == 404
    assert "other.example" in r.json()["error_description"]


@pytest.mark.gen_test
@pytest.mark.parametrize("query", [
    "", "?resource=", "?resource=alice%40{d}", "?resource=acct%3Aalice", "?resource=acct%3A%40{d}",
    "?resource=acct%3Aalice%40", "?resource=acct%3Aa%40b%40{d}", "?resource=mailto%3Aalice%40{d}",
    "?resource=https%3A%2F%2Fother.example%2Fusers%2Falice"])
async def test_webfinger_bad_resource_is_400(browser, make_user, domain, query):
    await make_user("alice")
    r = await browser.get("/.well-known/webfinger" + query.format(d=domain))
    assert r.code == 400, r.text
    assert r.json()["error"] == "invalid_request"


# -- NodeInfo 2.1 --------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_nodeinfo_well_known_links_to_2_1(browser, base_url):
    r = await browser.get("/.well-known/nodeinfo")
    assert r.code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.json() == {"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                                   "href": f"{base_url}/nodeinfo/2.1"},
                                  # FEP-2677: the instance's own actor, which Gancio follows by domain
                                  {"rel": "https://www.w3.org/ns/activitystreams#Application",
                                   "href": f"{base_url}/actor/events"}]}


@pytest.mark.gen_test
async def test_nodeinfo_document(browser, make_user, base_url):
    await make_user("alice")
    await make_user("bob")
    r = await browser.get("/nodeinfo/2.1")
    assert r.code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert "schema/2.1" in r.headers["Content-Type"]
    body = r.json()
    assert body["version"] == "2.1"
    assert body["software"] == {"name": "fync", "version": __version__}
    assert body["protocols"] == ["activitypub"]
    assert body["services"] == {"inbound": [], "outbound": []}
    assert body["usage"]["users"] == {"total": 2, "activeMonth": 2, "activeHalfyear": 2}
    assert body["openRegistrations"] is True
    assert body["metadata"] == {"nodeName": "Fync", "nodeDescription": "",
                                "oauth_authorization_server": f"{base_url}/.well-known/oauth-authorization-server"}


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("instance", "open_signup"): False, ("instance", "name"): "Closed Club",
                                               ("instance", "description"): "By invitation."}])
async def test_nodeinfo_follows_the_config(browser):
    body = (await browser.get("/nodeinfo/2.1")).json()
    assert body["openRegistrations"] is False
    assert body["metadata"]["nodeName"] == "Closed Club"
    assert body["metadata"]["nodeDescription"] == "By invitation."
    assert body["usage"]["users"]["total"] == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/.well-known/webfinger", "/.well-known/nodeinfo", "/nodeinfo/2.1"])
async def test_discovery_endpoints_answer_cors_preflight(browser, path):
    r = await browser.request("OPTIONS", path, headers={"Origin": "https://app.example",
                                                       "Access-Control-Request-Method": "GET"})
    assert r.code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]


# -- discover(): what a person may type ---------------------------------------------------------


@pytest.mark.parametrize("typed, origin", [
    ("example.org", "https://example.org"),
    ("Example.ORG", "https://example.org"),
    ("example.org:8443", "https://example.org:8443"),
    ("https://example.org/", "https://example.org"),
    ("https://example.org:443/some/page", "https://example.org"),
    ("localhost:8080", "http://localhost:8080"),
    ("127.0.0.1", "http://127.0.0.1"),
    ("127.0.0.1:9000", "http://127.0.0.1:9000"),
    ("[::1]:9000", "http://[::1]:9000"),
    ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
    ("https://localhost:8443", "https://localhost:8443"),
])
def test_origin_of_a_domain_or_url(typed, origin):
    assert origin_of(typed) == origin


@pytest.mark.parametrize("typed", ["", "exa mple.org", "https://user@example.org", "ftp://example.org",
                                   "example.org:99999", "@alice", "@alice@", "@@example.org", "alice@b@c",
                                   "https://"])
def test_discover_refuses_what_is_no_target(io_loop, no_connections, typed):
    with pytest.raises(BadTarget):
        io_loop.run_sync(lambda: discover(typed))


@pytest.mark.parametrize("typed", ["http://example.org", "http://example.org:8080/", "http://10.0.0.1",
                                   "http://127.0.0.1.example.org", "http://localhost.evil.example:80"])
def test_plain_http_to_a_remote_host_is_refused_before_any_connection(io_loop, no_connections, typed):
    with pytest.raises(InsecureURL, match="https"):
        io_loop.run_sync(lambda: discover(typed))


@pytest.mark.gen_test
async def test_a_bare_domain_means_https(fake_remote):
    _, asked = fake_remote
    with pytest.raises(NotAnInstance, match=r"example.org is not a Fync instance: no OAuth metadata at "
                                            r"https://example.org/.well-known/oauth-authorization-server \(HTTP 404\)"):
        await discover("example.org")
    assert asked == ["https://example.org/.well-known/oauth-authorization-server"]


@pytest.mark.gen_test
async def test_discover_by_domain(live, base_url, domain):
    instance = await discover(domain)
    assert isinstance(instance, Instance)
    assert instance.issuer == base_url and instance.domain == domain
    assert instance.endpoint("token") == f"{base_url}/oauth/token"
    assert instance.metadata["authorization_response_iss_parameter_supported"] is True


@pytest.mark.gen_test
async def test_discover_by_url(live, base_url):
    assert (await discover(base_url + "/")).issuer == base_url


@pytest.mark.gen_test
@pytest.mark.parametrize("handle", ["@alice@{d}", "alice@{d}", "  @alice@{d}  "])
async def test_discover_by_handle(live, make_user, base_url, domain, handle):
    await make_user("alice")
    assert (await discover(handle.format(d=domain))).issuer == base_url


@pytest.mark.gen_test
async def test_discover_unknown_handle(live, make_user, domain):
    await make_user("alice")
    with pytest.raises(HandleNotFound, match=f"@nobody@{domain}"):
        await discover(f"@nobody@{domain}")


@pytest.mark.gen_test
async def test_a_host_that_is_not_fync_is_refused(fake_host):
    with pytest.raises(NotAnInstance) as caught:
        await discover(f"127.0.0.1:{fake_host.port}")
    assert str(caught.value) == (
        f"127.0.0.1:{fake_host.port} is not a Fync instance: no OAuth metadata at "
        f"{fake_host.origin}/.well-known/oauth-authorization-server (HTTP 404)")


@pytest.mark.gen_test
async def test_metadata_that_is_not_json_is_refused(fake_host):
    fake_host.routes["/.well-known/oauth-authorization-server"] = (200, "<html>hello</html>", {})
    with pytest.raises(NotAnInstance, match="not a JSON object"):
        await discover(fake_host.origin)


@pytest.mark.gen_test
async def test_a_mismatched_issuer_is_refused(fake_host, base_url):
    fake_host.metadata(issuer=base_url)  # copies a real instance's metadata
    with pytest.raises(IssuerMismatch, match=f"names the issuer '{base_url}', not {fake_host.origin}"):
        await discover(f"127.0.0.1:{fake_host.port}")


@pytest.mark.gen_test
async def test_an_issuer_with_a_trailing_slash_is_a_mismatch(fake_host):
    fake_host.metadata(issuer=fake_host.origin + "/")
    with pytest.raises(IssuerMismatch):
        await discover(fake_host.origin)


@pytest.mark.gen_test
async def test_metadata_without_pkce_s256_is_refused(fake_host):
    fake_host.metadata(code_challenge_methods_supported=["plain"])
    with pytest.raises(NotAnInstance, match="S256"):
        await discover(fake_host.origin)


@pytest.mark.gen_test
async def test_metadata_with_a_plain_http_remote_endpoint_is_refused(fake_host):
    fake_host.metadata(token_endpoint="http://tokens.example/token")
    with pytest.raises(InsecureURL):
        await discover(fake_host.origin)


@pytest.mark.gen_test
async def test_redirects_are_not_followed(fake_host):
    fake_host.routes["/.well-known/oauth-authorization-server"] = (
        302, "", {"Location": "http://evil.example/.well-known/oauth-authorization-server"})
    with pytest.raises(Redirected, match="evil.example"):
        await discover(fake_host.origin)


@pytest.mark.gen_test
async def test_an_unreachable_host(io_loop):
    sock, port = bind_unused_port()
    sock.close()  # nothing listens there now
    with pytest.raises(Unreachable, match=f"cannot reach 127.0.0.1:{port}"):
        await discover(f"127.0.0.1:{port}")


# -- handles through WebFinger on other hosts ----------------------------------------------------


def _jrd(href: str, rel: str = "self", type_: str = "application/activity+json") -> dict:
    return {"subject": "acct:alice@x", "links": [{"rel": rel, "type": type_, "href": href}]}


@pytest.mark.gen_test
async def test_a_handle_may_live_on_another_host(live, fake_host, base_url):
    """WebFinger at the handle's domain names the actor on the real instance (delegation)."""
    fake_host.routes["/.well-known/webfinger"] = (200, _jrd(f"{base_url}/users/alice"), {})
    assert (await discover(f"@alice@127.0.0.1:{fake_host.port}")).issuer == base_url


@pytest.mark.gen_test
async def test_the_profile_page_serves_when_there_is_no_actor(live, fake_host, base_url):
    jrd = _jrd(f"{base_url}/u/alice", rel="http://webfinger.net/rel/profile-page", type_="text/html")
    fake_host.routes["/.well-known/webfinger"] = (200, jrd, {})
    assert (await discover(f"alice@127.0.0.1:{fake_host.port}")).issuer == base_url


@pytest.mark.gen_test
async def test_webfinger_without_an_account_link_is_refused(fake_host):
    fake_host.routes["/.well-known/webfinger"] = (200, {"subject": "acct:alice@x", "links": []}, {})
    with pytest.raises(NotAnInstance, match="no actor or profile page"):
        await discover(f"alice@127.0.0.1:{fake_host.port}")


@pytest.mark.gen_test
async def test_webfinger_pointing_to_plain_http_is_refused(fake_host):
    fake_host.routes["/.well-known/webfinger"] = (200, _jrd("http://evil.example/users/alice"), {})
    with pytest.raises(InsecureURL, match="evil.example"):
        await discover(f"@alice@127.0.0.1:{fake_host.port}")


@pytest.mark.gen_test
async def test_a_remote_handle_may_not_point_at_this_computer(fake_remote):
    answers, asked = fake_remote
    url = "https://example.org/.well-known/webfinger?resource=acct:alice@example.org"
    answers[url] = (200, _jrd("http://127.0.0.1:8080/users/alice"))
    with pytest.raises(NotAnInstance, match="points to this computer"):
        await discover("@alice@example.org")
    assert asked == [url]


@pytest.mark.gen_test
async def test_a_remote_handle_goes_to_https(fake_remote):
    answers, asked = fake_remote
    answers["https://example.org/.well-known/webfinger?resource=acct:alice@example.org"] = (
        200, _jrd("https://social.example.org/users/alice"))
    with pytest.raises(NotAnInstance, match="social.example.org is not a Fync instance"):
        await discover("alice@example.org")
    assert asked[-1] == "https://social.example.org/.well-known/oauth-authorization-server"
