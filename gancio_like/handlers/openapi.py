"""`GET /api/openapi.json`: the OpenAPI 3.1 document of the whole API (SPEC §4)."""
from __future__ import annotations

import json

from .. import openapi
from .api import PUBLIC, ApiHandler, declared_scopes, public


def api_routes(rules) -> list[openapi.Route]:
    """The router's rules as the generator sees them: bearer API handlers carry their scopes."""
    found = []
    for rule in rules:
        regex, handler = getattr(rule.matcher, "regex", None), rule.target
        if regex is None or not isinstance(handler, type):
            continue
        scopes = None
        if issubclass(handler, ApiHandler):
            scopes = {method: None if scope is PUBLIC else scope
                      for method, scope in declared_scopes(handler).items()}
        found.append(openapi.Route(regex.pattern, handler, scopes))
    return found


class OpenApiHandler(ApiHandler):
    """The OpenAPI 3.1 document of the whole API, plugin routes and scopes included."""

    link_name = "openapi"  # its name in `GET /api`

    openapi = {"GET": {"response": {"type": "object", "required": ["openapi", "info", "paths"]}}}

    @public
    def get(self) -> None:
        document = self.fync.built("openapi", lambda: json.dumps(
            openapi.document(self.cfg, self.fync.scopes, api_routes(self.fync.wildcard_router.rules)),
            separators=(",", ":")))
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(document)


ROUTES = [(r"/api/openapi\.json", OpenApiHandler)]
