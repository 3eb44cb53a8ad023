"""The one way Fync fetches a URL someone else chose: Client ID Metadata Documents
(SPEC §3), ActivityPub actors, keys, WebFinger and pictures (`icon`), and signed
deliveries (SPEC §6).

A URL from a request is server-side request forgery (SSRF) waiting to happen
(draft-ietf-oauth-client-id-metadata-document, Security Considerations; ActivityPub
Rec. Appendix B; SECURITY-CHECKLIST item 60): it could name the cloud metadata service
(169.254.169.254), an admin port on 127.0.0.1, or a host on the private network.
So, like Mastodon's `PrivateAddressCheck` (app/lib/private_address_check.rb) and
its `Request::Socket`:

- only https (http only for a loopback host, and only with `allow_private`);
- the host is resolved here, every address it resolves to is checked (private,
  loopback, link-local, multicast, reserved, unspecified, shared; IPv4-mapped,
  6to4 and NAT64 IPv6 addresses are judged by the IPv4 address inside), and the
  connection goes to exactly those addresses (a pinned resolver), so DNS
  rebinding cannot swap in another address between the check and the connect.
  TLS still verifies the certificate against the host name;
- no redirects at all (a 3xx is an error): a redirect could lead anywhere;
- one deadline covers resolving, connecting and reading; the body is capped
  while it streams in, so a slow or huge answer costs at most `timeout` seconds
  and `max_bytes` bytes.

Every failure is a `FetchError` whose message says what went wrong.

`probe` is the exception: one request to a URL the operator configured (`fync doctor`
checking the instance's own public URL, or a time server), with none of these guards.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import HTTPHeaders, HTTPInputError
from tornado.netutil import DefaultLoopResolver, Resolver
from tornado.simple_httpclient import HTTPTimeoutError, SimpleAsyncHTTPClient

from . import __version__
from .errors import FetchError
from .jsonstrict import parse_json

USER_AGENT = f"Fync/{__version__}"
# The well-known NAT64 prefix (RFC 6052) embeds an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why Fync must not connect to `ip` without `allow_private`, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            problem = address_problem(inner)
            return None if problem is None else f"{problem} (inside {ip})"
    for flag in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{flag}"):
            return f"{ip} is a {flag.replace('_', '-')} address"
    if not ip.is_global:  # e.g. 100.64.0.0/10, carrier-grade NAT
        return f"{ip} is not a public address"
    return None


class _PinnedResolver(Resolver):
    """Answers every lookup with the addresses that were already checked."""

    def initialize(self, addresses: list[tuple[int, Any]]) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int,
                      family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
        return [(fam, addr) for fam, addr in self.addresses
                if family == socket.AF_UNSPEC or fam == family]


async def fetch_json(url: str, *, allow_private: bool, timeout: float = 5.0, max_bytes: int = 65536,
                     accept: str = "application/json",
                     headers: Mapping[str, str] | None = None) -> tuple[dict, HTTPHeaders]:
    """GET `url` → (the JSON object it answered, its response headers).

    The headers are tornado's case-insensitive `HTTPHeaders` mapping. `headers`
    are sent as well (e.g. an HTTP Signature). Raises FetchError.
    """
    body, response_headers = await fetch_bytes(url, allow_private=allow_private, timeout=timeout,
                                               max_bytes=max_bytes, accept=accept, headers=headers)
    try:
        document = parse_json(body)
    except ValueError as exc:
        raise FetchError(f"the answer is not acceptable JSON: {exc}") from None
    if not isinstance(document, dict):
        raise FetchError("the answer is JSON but not an object")
    return document, response_headers


async def fetch_bytes(url: str, *, allow_private: bool, timeout: float = 5.0, max_bytes: int = 65536,
                      accept: str = "*/*", headers: Mapping[str, str] | None = None) -> tuple[bytes, HTTPHeaders]:
    """GET `url` → (the body of its 200 answer, its response headers); a remote
    person's picture, say. Any other status is a FetchError."""
    body, response = await _exchange("GET", url, None, allow_private, timeout, max_bytes,
                                     {"Accept": accept, **(headers or {})})
    if 300 <= response.code < 400:
        raise FetchError(f"answered {response.code} (a redirect); redirects are not followed")
    if response.code != 200:
        raise FetchError(f"answered HTTP {response.code}", response.code)
    return body, response.headers


async def post(url: str, body: bytes, *, allow_private: bool, timeout: float = 10.0,
               max_bytes: int = 65536, headers: Mapping[str, str] | None = None) -> int:
    """POST `body` to `url` with the same guards as `fetch_json` → the HTTP status.

    Used for ActivityPub deliveries (SPEC §6). The answer's body is read (up to
    `max_bytes`) and dropped; a redirect is a FetchError, since re-sending a signed
    POST elsewhere would deliver it to a host nobody chose. Raises FetchError when no
    status came back at all (refused, unresolvable, private, too slow).
    """
    _, response = await _exchange("POST", url, body, allow_private, timeout, max_bytes, dict(headers or {}))
    if 300 <= response.code < 400:
        raise FetchError(f"answered {response.code} (a redirect); redirects are not followed")
    return response.code


async def probe(url: str, *, method: str = "GET", timeout: float = 10.0) -> tuple[int, Mapping[str, str], bytes]:
    """(status, headers, body) of one request to a URL the operator chose, sent as a visitor's
    would be: unguarded, since it may rightly be on this machine or network; redirects are
    answers, not followed. Raises ssl.SSLError (TLS), other OSErrors, or FetchError (timeout)."""
    try:
        response = await AsyncHTTPClient().fetch(url, method=method, request_timeout=timeout,
                                                 follow_redirects=False, raise_error=False)
    except HTTPClientError as exc:
        raise FetchError(str(exc)) from None
    return response.code, response.headers, response.body


async def check_destination(url: str, *, allow_private: bool, timeout: float = 5.0) -> None:
    """Raise FetchError unless `url` is one Fync may connect to, by the rules above:
    for URLs stored now and fetched later (Web Push endpoints), refused at the door.
    Checked again, and the address pinned, when they are fetched."""
    await _checked_addresses(url, allow_private, timeout)


async def _exchange(method: str, url: str, body: bytes | None, allow_private: bool, timeout: float,
                    max_bytes: int, headers: dict[str, str]):
    """Check the URL and every address it resolves to, then send the request to those addresses."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    addresses = await _checked_addresses(url, allow_private, timeout)
    return await _send(method, url, body, addresses, deadline - loop.time(), timeout, max_bytes,
                       {"User-Agent": USER_AGENT, **headers})


async def _checked_addresses(url: str, allow_private: bool, timeout: float) -> list[tuple[int, Any]]:
    """The addresses Fync may connect to for `url`, or FetchError (before any connection)."""
    scheme, host, port = _target(url, allow_private)
    try:
        addresses = await asyncio.wait_for(_resolve(host, port), timeout)
    except asyncio.TimeoutError:
        raise FetchError(f"resolving {host} took longer than {timeout:g} s") from None
    for _, sockaddr in addresses:
        ip = ipaddress.ip_address(sockaddr[0].partition("%")[0])
        problem = address_problem(ip)
        if scheme == "http" and not ip.is_loopback:
            raise FetchError(f"http is allowed only on loopback, and {host} resolves to {ip}")
        if problem is not None and not allow_private:
            raise FetchError(f"refusing to connect to {host}: {problem}")
    if not addresses:
        raise FetchError(f"{host} has no address")
    return addresses


def _target(url: str, allow_private: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL Fync may try to fetch, or FetchError."""
    if not isinstance(url, str) or not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        raise FetchError("the URL must be ASCII without spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"unparseable URL: {exc}") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http"):
        raise FetchError("only https URLs are fetched")
    if not host:
        raise FetchError("the URL has no host")
    if "@" in parts.netloc:
        raise FetchError("the URL must not contain userinfo")
    if parts.scheme == "http" and not (allow_private and is_loopback_host(host)):
        raise FetchError("http is allowed only for loopback hosts on test instances; use https")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback IP literal, brackets allowed (no lookup): traffic that
    stays on this machine. (oauth/redirect_uris has its own, narrower rule: RFC 8252.)"""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _resolve(host: str, port: int) -> list[tuple[int, Any]]:
    """Every (family, sockaddr) `host` stands for; an IP literal needs no lookup."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if ip.version == 4:
            return [(socket.AF_INET, (str(ip), port))]
        return [(socket.AF_INET6, (str(ip), port, 0, 0))]
    try:
        found = await DefaultLoopResolver().resolve(host, port)
    except OSError as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys((fam, tuple(addr)) for fam, addr in found))


async def _send(method: str, url: str, body: bytes | None, addresses: list[tuple[int, Any]],
                remaining: float, timeout: float, max_bytes: int, headers: dict[str, str]):
    """One request to the pinned `addresses` → (the body read, the response), whatever its status."""
    if remaining <= 0:
        raise FetchError(f"no answer within {timeout:g} s")
    chunks: list[bytes] = []
    size = {"body": 0, "declared": 0}

    def on_header(line: str) -> None:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            size["declared"] = int(value.strip())

    def on_chunk(chunk: bytes) -> None:
        size["body"] += len(chunk)
        if size["body"] > max_bytes:
            # HTTPInputError is what tornado's HTTP/1 reader treats as "stop and close".
            raise HTTPInputError("body too large")
        chunks.append(chunk)

    # One client per fetch: the pinned resolver belongs to this URL alone. on_chunk
    # enforces max_bytes; tornado's own max_body_size is a backstop one read above it
    # (it refuses a larger Content-Length, or chunk, before reading it at all).
    backstop = max_bytes + 65536
    client = SimpleAsyncHTTPClient(force_instance=True, resolver=_PinnedResolver(addresses),
                                   max_body_size=backstop, max_buffer_size=backstop + 131072)
    request = HTTPRequest(url, method=method, headers=headers, body=body, follow_redirects=False,
                          connect_timeout=remaining, request_timeout=remaining,
                          decompress_response=False, header_callback=on_header,
                          streaming_callback=on_chunk)
    try:
        response = await client.fetch(request, raise_error=False)
    except HTTPTimeoutError:
        raise FetchError(f"no answer within {timeout:g} s") from None
    except Exception as exc:  # refused, reset, TLS, stream closed: all "did not work"
        if max(size["body"], size["declared"]) > max_bytes:
            raise FetchError(f"the answer is larger than {max_bytes} bytes") from None
        raise FetchError(f"fetch failed: {exc}") from None
    finally:
        client.close()
    return b"".join(chunks), response
