"""The client's address and scheme behind a reverse proxy (`X-Forwarded-For`,
`X-Forwarded-Proto`), believed only from the proxies listed in `[server] trusted_proxies`.

Anyone can send these headers. Tornado's `xheaders=True` believes them from every
peer, which would let a client choose the address its logins and registrations are
throttled under, and the one the access log shows. Here they count only when the
TCP peer itself is a listed proxy; then `X-Forwarded-For` is read from the right
(the nearest hop first), skipping the listed proxies, and the first other address
is the client's: what a client wrote on the left of the list never wins.
"""
from __future__ import annotations

import ipaddress

from tornado.httputil import HTTPServerRequest

SCHEMES = ("http", "https")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    return getattr(ip, "ipv4_mapped", None) or ip


class TrustedProxies:
    """`[server] trusted_proxies`: addresses or networks, e.g. "127.0.0.1", "10.0.0.0/8"."""

    def __init__(self, entries: list[str]):
        self.networks = tuple(ipaddress.ip_network(e, strict=False) for e in entries)

    def trusts(self, address: str) -> bool:
        ip = _address(address)
        return ip is not None and any(ip in net for net in self.networks)

    def apply(self, request: HTTPServerRequest) -> None:
        """Set `request.remote_ip` and `.protocol` from the headers, if the peer is a listed proxy."""
        if not self.networks or not self.trusts(request.remote_ip):
            return
        client = self.client_address(",".join(request.headers.get_list("X-Forwarded-For")))
        if client is not None:
            request.remote_ip = client
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        if proto in SCHEMES:
            request.protocol = proto

    def client_address(self, forwarded_for: str) -> str | None:
        """The rightmost address in the list that is not a listed proxy; None if unusable."""
        hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
        found = None
        for hop in reversed(hops):
            ip = _address(hop)
            if ip is None:
                break  # garbage: stop here rather than believe what lies beyond it
            found = str(ip)
            if not any(ip in net for net in self.networks):
                return found
        return found
