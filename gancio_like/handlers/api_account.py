"""`GET /api` (the index) and `GET /api/me` (SPEC §4)."""
from __future__ import annotations

from urllib.parse import urljoin

from .. import __version__, openapi, timezones
from ..avatars import avatar_url
from .api import ApiHandler, public, requires_scope
from .openapi import api_routes

OAUTH_ENDPOINTS = ("authorize", "token", "register", "revoke", "introspect")


def user_json(cfg, user) -> dict:
    return {"id": user.id, "username": user.username, "acct": f"{user.username}@{cfg.domain}",
            "display_name": user.display_name, "bio": user.bio, "interests": list(user.interests),
            "url": f"{cfg.issuer}/u/{user.username}",
            "avatar": avatar_url(cfg.issuer, user.username, user.avatar_version)}


class ApiIndexHandler(ApiHandler):
    """Where everything is; with a token, also who you are (like AnyFetch's `/`)."""

    @public
    def get(self) -> None:
        base = self.cfg.issuer
        plugin_links = self.fync.plugins.api_links(self.current_user)
        body = {"instance": self.cfg.instance.name, "description": self.cfg.instance.description,
                "software": "fync", "version": __version__,
                "links": {**self._links(), **{k: urljoin(base + "/", v) for k, v in plugin_links.items()}}}
        if self.current_user is not None:
            body["user"] = user_json(self.cfg, self.current_user)
            body["scope"] = " ".join(sorted(self.current_token.scopes))
        self.write_json(body)

    def _links(self) -> dict[str, str]:
        # Routes are fixed once the app serves, so the first request builds them.
        if not hasattr(self.fync, "_api_links"):
            self.fync._api_links = index_links(self.cfg.issuer, api_routes(self.fync.wildcard_router.rules))
        return self.fync._api_links


def index_links(base: str, routes: list[openapi.Route]) -> dict[str, str]:
    """The OAuth endpoints, then every `/api/...` route (core and plugins') as a URI
    template named after its handler (`FriendsHandler` → `friends`), so none is left out."""
    links = {"oauth_metadata": f"{base}/.well-known/oauth-authorization-server",
             **{name: f"{base}/oauth/{name}" for name in OAUTH_ENDPOINTS}}
    for route in (r for r in routes if r.pattern.startswith("/api/")):
        name = getattr(route.handler, "link_name", None) or openapi.snake(route.handler.__name__)
        links[openapi.unique(name, set(links))] = base + openapi.uri_template(route)
    return links


class MeHandler(ApiHandler):
    @requires_scope("profile")
    def get(self) -> None:
        """You; `timezone` is the IANA zone your times are shown in (yours, else the instance's)."""
        me = self.current_user
        self.write_json({**user_json(self.cfg, me), "timezone": timezones.zone_for(me, self.cfg.instance.timezone)})
