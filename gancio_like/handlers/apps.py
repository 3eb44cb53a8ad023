"""`/settings/apps` (SPEC §2): the apps you connected, and revoking them.
Also the base of every page that shows apps (portal, admin)."""
from __future__ import annotations

import tornado.web

from ..services import apps
from .base import PageHandler


class AppsPage(PageHandler):
    """Signed-in pages about apps: never cached, since some show credentials once."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")


class ConnectedAppsHandler(AppsPage):
    @tornado.web.authenticated
    async def get(self) -> None:
        connected = await apps.connected_apps(self.db, self.current_user.id)
        self.render("settings_apps.html", connected=connected, scopes=self.fync.scopes,
                    revoked=self.get_argument("revoked", "") in ("one", "all"))


class RevokeAppHandler(AppsPage):
    """By form field, not path: a metadata-document client's id is a URL."""

    @tornado.web.authenticated
    async def post(self) -> None:
        await apps.disconnect(self.db, self.current_user.id, self.get_body_argument("client_id", ""))
        self.redirect("/settings/apps?revoked=one", status=303)


class RevokeAllAppsHandler(AppsPage):
    @tornado.web.authenticated
    async def post(self) -> None:
        await apps.disconnect_all(self.db, self.current_user.id)
        self.redirect("/settings/apps?revoked=all", status=303)


ROUTES = [
    (r"/settings/apps", ConnectedAppsHandler),
    (r"/settings/apps/revoke", RevokeAppHandler),
    (r"/settings/apps/revoke-all", RevokeAllAppsHandler),
]
