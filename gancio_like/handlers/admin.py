"""`/admin` (SPEC §2): every registered app and every user, for admins only.
The actions are `fync client approve|disable|delete` (SPEC §1) behind a form."""
from __future__ import annotations

import tornado.web

from ..errors import Forbidden
from ..services import apps, moderation
from .apps import AppsPage

ACTIONS = {"approve": moderation.approve, "disable": moderation.disable, "delete": moderation.delete}


class AdminPage(AppsPage):
    def check_admin(self) -> None:
        if not self.current_user.is_admin:
            raise Forbidden("only admins may see this page")


class AdminHandler(AdminPage):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.check_admin()
        clients, users = await apps.admin_overview(self.db)
        done = self.get_argument("done", "")
        self.render("admin.html", clients=clients, users=users, done=done if done in ACTIONS else "",
                    registration=self.cfg.oauth.registration)


class ClientActionHandler(AdminPage):
    """By form field, not path: a metadata-document client's id is a URL."""

    @tornado.web.authenticated
    async def post(self, action: str) -> None:
        self.check_admin()
        await ACTIONS[action](self.db, self.get_body_argument("client_id", ""))
        self.redirect(f"/admin?done={action}", status=303)


ROUTES = [
    (r"/admin", AdminHandler),
    (r"/admin/clients/(approve|disable|delete)", ClientActionHandler),
]
