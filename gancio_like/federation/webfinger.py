"""WebFinger (RFC 7033) as a client: `name@domain` → that person's actor URL (SPEC §6).

The query goes to https://DOMAIN/.well-known/webfinger (http only for a loopback
domain on a test instance with `allow_private_addresses`), through the guarded
`net.fetch_json`. The actor must live on the domain that was asked: a WebFinger
answer naming an actor on some other host would let one instance speak for
accounts of another, so Fync refuses it (no split-domain setups).
"""
from __future__ import annotations

from urllib.parse import quote, urlsplit

from .. import net
from . import Federation, host_of

JRD_ACCEPT = "application/jrd+json, application/json"
ACTOR_TYPES = ("application/activity+json", 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
MAX_JRD_BYTES = 64 * 1024


def query_url(fed: Federation, acct: str) -> str:
    domain = acct.partition("@")[2]
    host = urlsplit(f"//{domain}").hostname or ""
    scheme = "http" if fed.allow_private and net.is_loopback_host(host) else "https"
    return f"{scheme}://{domain}/.well-known/webfinger?resource={quote('acct:' + acct, safe=':@')}"


async def actor_url(fed: Federation, acct: str) -> str:
    """The `self` link of `acct`'s JRD; net.FetchError when there is none we can use."""
    jrd, _ = await net.fetch_json(query_url(fed, acct), allow_private=fed.allow_private,
                                  max_bytes=MAX_JRD_BYTES, accept=JRD_ACCEPT)
    links = jrd.get("links")
    for link in links if isinstance(links, list) else []:
        if (isinstance(link, dict) and link.get("rel") == "self" and link.get("type") in ACTOR_TYPES
                and isinstance(link.get("href"), str)):
            href = link["href"]
            if host_of(href) != acct.partition("@")[2]:
                raise net.FetchError(f"the actor of {acct} is not on {acct.partition('@')[2]}")
            return href
    raise net.FetchError(f"{acct} has no ActivityPub actor")
