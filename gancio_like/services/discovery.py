"""What instance discovery answers (SPEC §5): WebFinger (RFC 7033) for local users and
NodeInfo 2.1 for the instance. handlers/discovery.py serves them."""
from __future__ import annotations

import re

from .. import __version__
from ..config import Config
from ..errors import NotFound, ValidationError
from ..federation import actors, events_actor
from ..storage import users as user_store
from ..storage.db import Database

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"  # FEP-2677: the instance's actor
# A user part that cannot be a username (SPEC §2) is still well-formed: 404, not 400.
_ACCT = re.compile(r"acct:([^@\s/]+)@([^@\s/]+)")


async def webfinger(db: Database, cfg: Config, resource: str, rels: list[str]) -> dict:
    """The JRD of the local user `resource` names; ValidationError if malformed, NotFound if nobody."""
    name = webfinger_name(cfg, resource)
    if name != events_actor.NAME and await user_store.get_user_by_name(db, name) is None:
        raise NotFound("user")
    return jrd(cfg, name, rels)


def webfinger_name(cfg: Config, resource: str) -> str:
    """The local username `resource` names; ValidationError if malformed, NotFound if not ours."""
    if resource == events_actor.actor_url(cfg.issuer):
        return events_actor.NAME
    if resource.startswith(f"{cfg.issuer}/users/"):
        name = actors.local_username(cfg.issuer, resource)
        if name is None:
            raise NotFound("user")
        return name
    match = _ACCT.fullmatch("acct:" + resource[5:]) if resource[:5].lower() == "acct:" else None
    if match is None:
        raise ValidationError("resource must be acct:NAME@DOMAIN (RFC 7033 §4.1)", field="resource")
    name, domain = match.groups()
    if domain.lower() != cfg.domain.lower():
        raise NotFound(f"user at {domain}: this instance is {cfg.domain}")
    return name.lower()  # usernames are lower-case, and Mastodon matches without case


def jrd(cfg: Config, username: str, rels: list[str]) -> dict:
    """The JSON Resource Descriptor (RFC 7033 §4.4); `rel` parameters filter links (§4.3).
    `events` is the events actor (its page: /events), whatever accounts exist."""
    actor, page = actors.actor_url(cfg.issuer, username), f"{cfg.issuer}/u/{username}"
    if username == events_actor.NAME:
        actor, page = events_actor.actor_url(cfg.issuer), f"{cfg.issuer}/events"
    links = [{"rel": "self", "type": "application/activity+json", "href": actor},
             {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": page}]
    return {"subject": f"acct:{username}@{cfg.domain}", "aliases": [actor, page],
            "links": [link for link in links if not rels or link["rel"] in rels]}


async def nodeinfo(db: Database, cfg: Config) -> dict:
    """NodeInfo 2.1. Active counts equal the total: Fync keeps no per-user activity log yet."""
    total = await user_store.count_users(db)
    users = {"total": total, "activeMonth": total, "activeHalfyear": total}
    return {
        "version": "2.1",
        "software": {"name": "fync", "version": __version__},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": cfg.instance.open_signup,
        "usage": {"users": users},
        "metadata": {"nodeName": cfg.instance.name, "nodeDescription": cfg.instance.description,
                     "oauth_authorization_server": f"{cfg.issuer}/.well-known/oauth-authorization-server"},
    }


def nodeinfo_links(cfg: Config) -> dict:
    """Where the NodeInfo document is, and the instance's actor (FEP-2677: how Gancio finds
    the events actor from a domain)."""
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": f"{cfg.issuer}/nodeinfo/2.1"},
                      {"rel": APPLICATION_REL, "href": events_actor.actor_url(cfg.issuer)}]}
