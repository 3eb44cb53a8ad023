""""Add from your instance" (SPEC §2 `/@NAME`): a visitor from elsewhere types the domain
of their own instance and is sent there, to its add-a-friend form filled in with the
person they were looking at (`https://THEIRS/friends?add=NAME@THIS`), as Mastodon's
remote-interaction page does. Their instance then sends the request by federation.

Whatever was typed must be an instance's domain and nothing more (a visitor may paste
`https://example.org/`, `@me@example.org` or `me@example.org`), so the redirect can
only ever go to the root of some host: https, or http for a loopback host only, as
`fync login` reads a bare name (client/discovery.py).
"""
from __future__ import annotations

from urllib.parse import quote

from ..errors import ValidationError
from ..net import is_loopback_host
from .friends import DOMAIN, MAX_DOMAIN


def their_domain(text: str) -> str:
    """The host[:port] in what a visitor typed; ValidationError if it is not one."""
    domain = (text or "").strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.rstrip("/").rpartition("@")[2]
    if not domain or len(domain) > MAX_DOMAIN or not DOMAIN.fullmatch(domain):
        raise ValidationError("give your instance's domain, like mastodon.social or fync.example.org", "domain")
    return domain


def add_friend_url(text: str, acct: str) -> str:
    """Where to send the visitor: their instance's add-a-friend form, filled in with `acct`."""
    domain = their_domain(text)
    scheme = "http" if is_loopback_host(domain.rpartition(":")[0] or domain) else "https"
    return f"{scheme}://{domain}/friends?add={quote(acct, safe='@')}"
