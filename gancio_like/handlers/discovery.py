"""Instance discovery (SPEC §5): WebFinger (RFC 7033) and NodeInfo 2.1.

With these and the RFC 8414 metadata, a client that knows only `example.org` or
`@alice@example.org` can find the instance, register and log the user in
(`gancio_like.client`). Every document here is public and CORS-open (JsonHandler),
so browser apps can discover instances too.
"""
from __future__ import annotations

import json

from ..errors import ValidationError
from ..services import discovery
from .base import JsonHandler

JRD_TYPE = "application/jrd+json"


class WebFingerHandler(JsonHandler):
    """`GET /.well-known/webfinger?resource=acct:NAME@DOMAIN` (also the actor URL)."""

    async def get(self) -> None:
        resource = self.get_query_argument("resource", "").strip()
        if not resource:
            raise ValidationError("the resource parameter is required, e.g. acct:alice@" + self.cfg.domain,
                                  field="resource")
        body = await discovery.webfinger(self.db, self.cfg, resource, self.get_query_arguments("rel"))
        self.set_header("Content-Type", JRD_TYPE)
        self.finish(json.dumps(body))


class NodeInfoLinksHandler(JsonHandler):
    """`GET /.well-known/nodeinfo`: where the NodeInfo document is."""

    def get(self) -> None:
        self.write_json(discovery.nodeinfo_links(self.cfg))


class NodeInfoHandler(JsonHandler):
    """`GET /nodeinfo/2.1`: software, protocols, user counts, signup, the OAuth metadata URL."""

    async def get(self) -> None:
        body = await discovery.nodeinfo(self.db, self.cfg)
        self.set_header("Content-Type", f'application/json; profile="{discovery.NODEINFO_SCHEMA}#"')
        self.finish(json.dumps(body))


ROUTES = [
    (r"/\.well-known/webfinger", WebFingerHandler),
    (r"/\.well-known/nodeinfo", NodeInfoLinksHandler),
    (r"/nodeinfo/2\.1", NodeInfoHandler),
]
