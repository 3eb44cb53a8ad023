"""`GET /api` (the index) and `GET /api/me` (SPEC §4)."""
from __future__ import annotations

from urllib.parse import urljoin

from .. import __version__
from .api import ApiHandler, public, requires_scope


def user_json(cfg, user) -> dict:
    return {"id": user.id, "username": user.username, "acct": f"{user.username}@{cfg.domain}",
            "display_name": user.display_name, "bio": user.bio, "interests": list(user.interests),
            "url": f"{cfg.issuer}/u/{user.username}"}


class ApiIndexHandler(ApiHandler):
    """Where everything is; with a token, also who you are (like AnyFetch's `/`)."""

    @public
    def get(self) -> None:
        base = self.cfg.issuer
        body = {"instance": self.cfg.instance.name, "description": self.cfg.instance.description,
                "software": "fync", "version": __version__,
                "links": {"me": f"{base}/api/me", "openapi": f"{base}/api/openapi.json",
                          "oauth_metadata": f"{base}/.well-known/oauth-authorization-server",
                          "authorize": f"{base}/oauth/authorize", "token": f"{base}/oauth/token",
                          "register": f"{base}/oauth/register", "gancio_register": f"{base}/api/client",
                          **{k: urljoin(base + "/", v) for k, v in self.fync.plugins.api_links(self.current_user).items()}}}
        if self.current_user is not None:
            body["user"] = user_json(self.cfg, self.current_user)
            body["scope"] = " ".join(sorted(self.current_token.scopes))
        self.write_json(body)


class MeHandler(ApiHandler):
    @requires_scope("profile")
    def get(self) -> None:
        self.write_json(user_json(self.cfg, self.current_user))
