"""The structured access log (issue 11 §4): one logfmt line per request, and no secret
anywhere in the log of a full flow — signup, registration, authorize, consent, token,
refresh, /api/me, revocation."""
from __future__ import annotations

import logging
import re
import secrets

import pytest

from gancio_like.accesslog import logfmt, safe_query
from oauth_helpers import REDIRECT, api, authorize_url, consent, pkce_pair, refresh, register, revoke, token_request

LINE = re.compile(r'^method=(?P<method>[A-Z]+) path=(?P<path>\S+)(?: query="(?P<query>[^"]*)")? '
                  r"status=(?P<status>\d{3}) ms=\d+\.\d ip=(?P<ip>\S+)(?: client=(?P<client>\S+))?$")


def access_lines(caplog) -> list[dict]:
    lines = [r.getMessage() for r in caplog.records if r.name == "fync.access"]
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed) if not m]
    return [m.groupdict() for m in parsed]


def everything_logged(caplog) -> str:
    """Every record of every logger, formatted, with tracebacks: where a secret could hide."""
    return caplog.text + "\n".join(r.getMessage() for r in caplog.records)


class CountingHTTP:
    """The test's HTTP client, counting what it sends: one access line each, no more, no less."""

    def __init__(self, http):
        self.http, self.sent = http, 0

    async def fetch(self, *args, **kwargs):
        self.sent += 1
        return await self.http.fetch(*args, **kwargs)


@pytest.mark.gen_test(timeout=30)
async def test_full_flow_logs_one_line_per_request_and_no_secret(browser, caplog):
    caplog.set_level(logging.DEBUG)
    browser.http = counting = CountingHTTP(browser.http)
    password = "pw-" + secrets.token_hex(8)
    state = "st-" + secrets.token_hex(8)
    r = await browser.post("/signup", {"username": "alice", "password": password, "display_name": "Alice"})
    assert r.code in (302, 303), r.text
    client = await register(browser)
    verifier, challenge = pkce_pair()
    r = await consent(browser, authorize_url(client["client_id"], scope="profile", state=state, challenge=challenge))
    code = r.location_params()["code"]
    r = await token_request(browser, {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                      "redirect_uri": REDIRECT}, client["client_id"], client["client_secret"])
    first = r.json()
    second = (await refresh(browser, client, first["refresh_token"])).json()
    assert (await api(browser, "/api/me", second["access_token"])).code == 200
    # A token in the URL is refused (OAuth 2.1 §5.1), and must not be logged either.
    assert (await api(browser, "/api/me?access_token=" + second["access_token"], None)).code == 401
    assert (await revoke(browser, client, second["refresh_token"])).code == 200
    assert (await api(browser, "/api/me", second["access_token"])).code == 401

    found = {
        "password": password, "state": state, "code": code, "code_verifier": verifier,
        "code_challenge": challenge, "client_secret": client["client_secret"],
        "registration_access_token": client["registration_access_token"],
        "access token": first["access_token"], "refresh token": first["refresh_token"],
        "rotated access token": second["access_token"], "rotated refresh token": second["refresh_token"],
        "session cookie": browser.cookies.get("fync_session"), "xsrf cookie": browser.cookies["_xsrf"],
    }
    assert found["session cookie"]
    log = everything_logged(caplog)
    leaked = [name for name, value in found.items() if value in log]
    assert not leaked, f"in the log: {leaked}"

    lines = access_lines(caplog)
    assert len(lines) == counting.sent
    me = [line for line in lines if line["path"] == "/api/me"]
    assert me[0]["status"] == "200" and me[0]["client"] == client["client_id"]
    assert me[1]["status"] == "401" and me[1]["client"] is None and me[1]["query"] == "access_token=***"
    authorize = next(line for line in lines if line["path"] == "/oauth/authorize" and line["method"] == "GET")
    assert f"client_id={client['client_id']}" in authorize["query"] and "state=***" in authorize["query"]
    assert {line["ip"] for line in lines} == {"127.0.0.1"}


@pytest.mark.gen_test
async def test_a_server_error_is_logged_at_error_level(browser, caplog, monkeypatch):
    from gancio_like.handlers import ops as ops_handlers

    async def broken(db, migrations):
        raise RuntimeError("boom")
    monkeypatch.setattr(ops_handlers.ops, "health", broken)
    caplog.set_level(logging.INFO)
    assert (await browser.get("/health")).code == 500
    record = next(r for r in caplog.records if r.name == "fync.access")
    assert record.levelno == logging.ERROR and "status=500" in record.getMessage()


# -- the pieces ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query,shown", [
    ("code=abc&state=xyz", "code=***&state=***"),
    ("client_id=app&scope=profile+event%3Awrite&code_challenge=c", "client_id=app&scope=profile event:write&code_challenge=***"),
    ("token=t&access_token=a&refresh_token=r&client_secret=s&password=p&code_verifier=v", "token=***&access_token=***&"
     "refresh_token=***&client_secret=***&password=***&code_verifier=***"),
    ("next=%2Foauth%2Fauthorize%3Fstate%3Dsecret", "next=***"),   # a URL inside a URL: hidden whole
    ("c2VjcmV0LXRva2VuLXNlbnQtYmFyZS1pbi10aGUtcXVlcnk%3D%3D", "***"),  # a bare value, no name
    ("plugin_thing=x", "plugin_thing=***"),  # unknown names fail closed
])
def test_query_values_are_hidden_but_for_harmless_names(query, shown):
    assert safe_query(query) == shown


def test_values_that_could_break_the_line_are_quoted():
    line = logfmt([("path", '/a b"\nmethod=FAKE'), ("status", 200)])
    assert "\n" not in line
    assert line == 'path="/a b\\"\\nmethod=FAKE" status=200'


def test_a_value_ending_in_a_newline_is_quoted():
    """`$` in a regex also matches before a final newline: one request must stay one line."""
    from gancio_like.accesslog import logfmt
    line = logfmt([("path", "/x\n"), ("ip", "127.0.0.1")])
    assert "\n" not in line and line.startswith('path="/x\\n"')
