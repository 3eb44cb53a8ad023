"""`/settings/apps` (SPEC §2): the apps you connected, and revoking them.
Also the base of every page that shows apps (portal, admin)."""
from __future__ import annotations

import tornado.web

from ..services import apps
from .base import PageHandler
from .confirm import Ask, confirmed


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
    """By form field, not path: a metadata-document client's id is a URL. Asks first."""

    @tornado.web.authenticated
    async def post(self) -> None:
        app = await apps.connected_app(self.db, self.current_user.id, self.get_body_argument("client_id", ""))
        if confirmed(self, Ask(self._("Revoke %(app)s's access?", app=app.name),
                               self._("Its tokens stop working at once, and it must ask you again before "
                                      "it can use your account."), self._("Revoke access"), back="/settings/apps")):
            await apps.disconnect(self.db, self.current_user.id, app.client_id)
            self.redirect("/settings/apps?revoked=one", status=303)


class RevokeAllAppsHandler(AppsPage):
    @tornado.web.authenticated
    async def post(self) -> None:
        if confirmed(self, Ask(self._("Revoke every app's access?"),
                               self._("Every app you connected loses its tokens at once, and each must ask "
                                      "you again before it can use your account."), self._("Revoke all"),
                               back="/settings/apps")):
            await apps.disconnect_all(self.db, self.current_user.id)
            self.redirect("/settings/apps?revoked=all", status=303)


ROUTES = [
    (r"/settings/apps", ConnectedAppsHandler),
    (r"/settings/apps/revoke", RevokeAppHandler),
    (r"/settings/apps/revoke-all", RevokeAllAppsHandler),
]
