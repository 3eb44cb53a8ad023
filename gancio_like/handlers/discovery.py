"""Instance discovery (SPEC §5): WebFinger (RFC 7033) and NodeInfo 2.1.

With these and the RFC 8414 metadata, a client that knows only `example.org` or
`@alice@example.org` can find the instance, register and log the user in
(`gancio_like.client`). Every document here is public and CORS-open (JsonHandler),
so browser apps can discover instances too.
"""
from __future__ import annotations

import json
import re

from .. import __version__
from ..errors import NotFound, ValidationError
from ..federation import actors, events_actor
from ..storage import users as user_store
from .base import JsonHandler

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"  # FEP-2677: the instance's actor
JRD_TYPE = "application/jrd+json"
# A user part that cannot be a username (SPEC §2) is still well-formed: 404, not 400.
_ACCT = re.compile(r"acct:([^@\s/]+)@([^@\s/]+)")


def webfinger_name(cfg, resource: str) -> str:
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


def jrd(cfg, username: str, rels: list[str]) -> dict:
    """The JSON Resource Descriptor (RFC 7033 §4.4); `rel` parameters filter links (§4.3).
    `events` is the events actor (its page: /events), whatever accounts exist."""
    actor, page = actors.actor_url(cfg.issuer, username), f"{cfg.issuer}/u/{username}"
    if username == events_actor.NAME:
        actor, page = events_actor.actor_url(cfg.issuer), f"{cfg.issuer}/events"
    links = [{"rel": "self", "type": "application/activity+json", "href": actor},
             {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": page}]
    return {"subject": f"acct:{username}@{cfg.domain}", "aliases": [actor, page],
            "links": [link for link in links if not rels or link["rel"] in rels]}


class WebFingerHandler(JsonHandler):
    """`GET /.well-known/webfinger?resource=acct:NAME@DOMAIN` (also the actor URL)."""

    async def get(self) -> None:
        resource = self.get_query_argument("resource", "").strip()
        if not resource:
            raise ValidationError("the resource parameter is required, e.g. acct:alice@" + self.cfg.domain,
                                  field="resource")
        name = webfinger_name(self.cfg, resource)
        if name != events_actor.NAME and await user_store.get_user_by_name(self.db, name) is None:
            raise NotFound("user")
        self.set_header("Content-Type", JRD_TYPE)
        self.finish(json.dumps(jrd(self.cfg, name, self.get_query_arguments("rel"))))


class NodeInfoLinksHandler(JsonHandler):
    """`GET /.well-known/nodeinfo`: where the NodeInfo document is."""

    def get(self) -> None:
        self.write_json({"links": [{"rel": NODEINFO_SCHEMA, "href": f"{self.cfg.issuer}/nodeinfo/2.1"},
                                   {"rel": APPLICATION_REL, "href": events_actor.actor_url(self.cfg.issuer)}]})


def nodeinfo(cfg, total_users: int) -> dict:
    """NodeInfo 2.1. Active counts equal the total: Fync keeps no per-user activity log yet."""
    users = {"total": total_users, "activeMonth": total_users, "activeHalfyear": total_users}
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


class NodeInfoHandler(JsonHandler):
    """`GET /nodeinfo/2.1`: software, protocols, user counts, signup, the OAuth metadata URL."""

    async def get(self) -> None:
        body = nodeinfo(self.cfg, await user_store.count_users(self.db))
        self.set_header("Content-Type", f'application/json; profile="{NODEINFO_SCHEMA}#"')
        self.finish(json.dumps(body))


ROUTES = [
    (r"/\.well-known/webfinger", WebFingerHandler),
    (r"/\.well-known/nodeinfo", NodeInfoLinksHandler),
    (r"/nodeinfo/2\.1", NodeInfoHandler),
]
