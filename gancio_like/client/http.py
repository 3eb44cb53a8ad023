"""The client library's one door to the network.

Tornado's `AsyncHTTPClient`, not httpx: Tornado is already Fync's one web
dependency, so `pip install fync` brings a working client with nothing more to
install, and `fync login`'s loopback listener (a Tornado `HTTPServer`) shares the
same IOLoop with no second async stack to reconcile.

No SSRF guard (unlike `gancio_like.net`): the person chose the instance, and this
runs on their machine. What is enforced, before any connection:

- https, except on loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`), where
  plain http never leaves the machine (RFC 8252 §8.3). Tokens and codes must not
  cross a network in clear text;
- no redirects: one could downgrade to http or lead to another host, and Fync's
  endpoints never redirect;
- bounded time and body size, so a hostile host cannot hang or flood a client.
"""
from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import HTTPHeaders, HTTPInputError
from tornado.iostream import StreamClosedError

from .. import __version__
from ..net import is_loopback_host
from .errors import InsecureURL, Redirected, Unreachable

USER_AGENT = f"fync-client/{__version__}"
CONNECT_TIMEOUT, REQUEST_TIMEOUT = 10, 30  # seconds
MAX_BODY = 2 * 1024 * 1024  # bytes


def check_url(url: str) -> None:
    """Refuse a URL this library must never fetch (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return
    if parts.scheme == "http":
        raise InsecureURL(f"refusing plain http to {parts.netloc}: use https "
                          "(http is allowed only for 127.0.0.1, [::1] and localhost)")
    raise InsecureURL(f"not an https URL: {url!r}")


@dataclass(frozen=True)
class Reply:
    """A response of any status; `data()` is its JSON body or None."""

    url: str
    status: int
    headers: HTTPHeaders
    body: bytes

    def data(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


async def fetch(url: str, method: str = "GET", form: dict | None = None,
                headers: dict | None = None, json_body: Any = None) -> Reply:
    """One request after `check_url`; network failures become `Unreachable`."""
    check_url(url)
    request = _request(url, method, form, headers or {}, json_body)
    client = AsyncHTTPClient(force_instance=True, max_body_size=MAX_BODY)
    try:
        resp = await client.fetch(request, raise_error=False)
    except (OSError, ssl.SSLError, HTTPClientError, HTTPInputError, StreamClosedError) as exc:
        raise Unreachable(f"cannot reach {urlsplit(url).netloc}: {_reason(exc)}; "
                          "check the address and your connection") from None
    finally:
        client.close()
    if 300 <= resp.code < 400:
        raise Redirected(f"{url} redirects to {resp.headers.get('Location')!r}; "
                          "use the address it names directly")
    return Reply(url, resp.code, resp.headers, resp.body or b"")


def _request(url: str, method: str, form: dict | None, headers: dict, json_body: Any) -> HTTPRequest:
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        body = json.dumps(json_body)
        headers["Content-Type"] = "application/json"
    return HTTPRequest(url, method=method, body=body, headers=headers, follow_redirects=False,
                       connect_timeout=CONNECT_TIMEOUT, request_timeout=REQUEST_TIMEOUT,
                       allow_nonstandard_methods=True)


def _reason(exc: Exception) -> str:
    if isinstance(exc, HTTPClientError) and exc.code == 599:
        return "no answer in time"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
