"""Find a Fync instance from what a person types (SPEC §5 and §8).

Accepted: `example.org`, `example.org:8443`, `https://example.org/`,
`@alice@example.org` and `alice@example.org`. A bare name means https, except a
loopback host, which means http. A handle is looked up with WebFinger (RFC 7033):
the instance is the host of the account's actor (`self`) or profile page, which
may differ from the handle's domain (delegation).

The instance's RFC 8414 metadata must name as `issuer` exactly the origin it was
fetched from (RFC 8414 §3.3): a document that names another issuer could steer the
login, and the code, to an attacker's endpoints.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from ..net import is_loopback_host
from . import http
from .errors import BadTarget, HandleNotFound, InsecureURL, IssuerMismatch, NotAnInstance

METADATA_PATH = "/.well-known/oauth-authorization-server"
ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Instance:
    """A discovered instance: its issuer (an origin) and its RFC 8414 metadata."""

    issuer: str
    metadata: dict

    @property
    def domain(self) -> str:
        """host[:port], as Fync names itself (SPEC §6) and as credentials are keyed."""
        return urlsplit(self.issuer).netloc

    def endpoint(self, name: str) -> str:
        """`token`, `revocation`, … → its URL; NotAnInstance when the metadata has none."""
        url = self.metadata.get(f"{name}_endpoint")
        if not isinstance(url, str) or not url:
            raise NotAnInstance(f"{self.domain} advertises no {name} endpoint in its OAuth metadata")
        return url

    def to_dict(self) -> dict:
        return {"issuer": self.issuer, "metadata": self.metadata}

    @classmethod
    def from_dict(cls, data: dict) -> "Instance":
        return cls(data["issuer"], data["metadata"])


def split_handle(target: str) -> tuple[str, str] | None:
    """`@alice@example.org` or `alice@example.org` → (alice, example.org); else None."""
    if "://" in target or "/" in target:
        return None
    user, at, domain = target.removeprefix("@").partition("@")
    if not at:
        return None
    if not user or not domain or "@" in domain:
        raise BadTarget(f"{target!r} is not a handle: write it as @name@example.org")
    return user, domain


def origin_of(target: str) -> str:
    """A domain or URL → `scheme://host[:port]`: https, or http on loopback only."""
    explicit = "://" in target
    parts = urlsplit(target if explicit else "//" + target)
    host = _host(parts, target)
    scheme = parts.scheme if explicit else ("http" if is_loopback_host(host) else "https")
    if scheme not in _DEFAULT_PORTS:
        raise BadTarget(f"{target!r}: only https:// addresses are supported")
    if scheme == "http" and not is_loopback_host(host):
        raise InsecureURL(f"refusing plain http to {host}: use https://{host} "
                          "(http is allowed only for 127.0.0.1, [::1] and localhost)")
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}"


def _host(parts, target: str) -> str:
    """The host part, bracketed when IPv6; BadTarget for userinfo, bad ports or no host."""
    try:
        parts.port  # parsed lazily; raises ValueError when malformed
    except ValueError:
        raise BadTarget(f"{target!r} has an invalid port") from None
    if not parts.hostname or "@" in parts.netloc or any(c.isspace() for c in target):
        raise BadTarget(f"{target!r} is not a domain, an https URL or a handle like @name@example.org")
    return f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname


async def discover(target: str) -> Instance:
    """What a person typed → the instance, its metadata checked (see the module docstring)."""
    target = target.strip()
    handle = split_handle(target)
    origin = await _origin_of_handle(*handle) if handle else origin_of(target)
    return await fetch_metadata(origin)


async def fetch_metadata(origin: str) -> Instance:
    """RFC 8414 metadata at `origin`, refused unless it is Fync-shaped and names `origin`."""
    domain, url = urlsplit(origin).netloc, origin + METADATA_PATH
    reply = await http.fetch(url)
    meta = reply.data()
    if reply.status != 200 or not isinstance(meta, dict):
        why = f"HTTP {reply.status}" if reply.status != 200 else "the answer is not a JSON object"
        raise NotAnInstance(f"{domain} is not a Fync instance: no OAuth metadata at {url} ({why})")
    if meta.get("issuer") != origin:
        raise IssuerMismatch(f"{domain}'s OAuth metadata names the issuer {meta.get('issuer')!r}, "
                             f"not {origin}: refusing to log in there (ask its admin to fix public_url)")
    _check_capabilities(domain, meta)
    return Instance(origin, meta)


def _check_capabilities(domain: str, meta: dict) -> None:
    """What every login here relies on: both endpoints, and PKCE with S256 (RFC 7636)."""
    for name in ("authorization_endpoint", "token_endpoint"):
        if not isinstance(meta.get(name), str):
            raise NotAnInstance(f"{domain} is not a Fync instance: its OAuth metadata has no {name}")
        http.check_url(meta[name])
    if "S256" not in (meta.get("code_challenge_methods_supported") or []):
        raise NotAnInstance(f"{domain} does not offer PKCE with S256, which logins need")


async def _origin_of_handle(user: str, domain: str) -> str:
    """WebFinger the handle at its domain → the origin of the instance that hosts it."""
    url = f"{origin_of(domain)}/.well-known/webfinger?resource={quote(f'acct:{user}@{domain}', safe=':@')}"
    reply = await http.fetch(url)
    jrd = reply.data()
    if reply.status == 404:
        raise HandleNotFound(f"no account @{user}@{domain}: {domain} does not know it; check the spelling")
    if reply.status != 200 or not isinstance(jrd, dict):
        raise NotAnInstance(f"{domain} does not answer WebFinger at {url} (HTTP {reply.status}); "
                            "try the instance's domain instead of the handle")
    return _instance_origin(_account_link(jrd, user, domain), domain)


def _account_link(jrd: dict, user: str, domain: str) -> str:
    """The actor's href, else the profile page's (RFC 7033 §4.4.4)."""
    links = [link for link in jrd.get("links") or [] if isinstance(link, dict)]
    for wanted in ("self", PROFILE_PAGE_REL):
        for link in links:
            if link.get("rel") == wanted and isinstance(link.get("href"), str):
                if wanted != "self" or link.get("type", "").split(";")[0] in ACTIVITY_TYPES:
                    return link["href"]
    raise NotAnInstance(f"WebFinger at {domain} names no actor or profile page for @{user}@{domain}")


def _instance_origin(href: str, domain: str) -> str:
    """The origin of `href`. A remote domain may not point at this machine's loopback."""
    origin = origin_of(href)
    if is_loopback_host(urlsplit(origin).hostname) and not is_loopback_host(urlsplit("//" + domain).hostname):
        raise NotAnInstance(f"WebFinger at {domain} points to this computer ({origin}); refusing")
    return origin
