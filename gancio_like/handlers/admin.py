"""`/admin` (SPEC §2): every registered app and every user, for admins only.
The actions are `fync client approve|disable|delete` (SPEC §1) behind a form."""
from __future__ import annotations

import tornado.web

from ..errors import Forbidden
from ..languages import N_
from ..models import Client
from ..services import apps, moderation
from .apps import AppsPage
from .base import PageHandler
from .confirm import Ask, confirmed

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


# Disabling and deleting ask first (handlers/confirm.py); approving or enabling does not.
ASKS = {
    "disable": (N_("Disable %(app)s?"), N_("Every token it holds is revoked now, and nobody can authorize it "
                                          "until an admin enables it again."), N_("Disable %(app)s")),
    "delete": (N_("Delete %(app)s?"), N_("It is removed with every token and remembered consent it holds, "
                                        "for everyone. This cannot be undone."), N_("Delete %(app)s")),
}


def ask(page: PageHandler, action: str, client: Client) -> Ask | None:
    """What disabling or deleting asks first; None for approving, which takes nothing away."""
    if action not in ASKS:
        return None
    question, outcome, button = ASKS[action]
    name = client.name or client.client_id
    return Ask(page._(question, app=name), page._(outcome), page._(button, app=name), back="/admin")


class ClientActionHandler(AdminPage):
    """By form field, not path: a metadata-document client's id is a URL."""

    @tornado.web.authenticated
    async def post(self, action: str) -> None:
        self.check_admin()
        client = await moderation.find(self.db, self.get_body_argument("client_id", ""))
        question = ask(self, action, client)
        if question is not None and not confirmed(self, question):
            return
        await ACTIONS[action](self.db, client.client_id)
        self.redirect(f"/admin?done={action}", status=303)


ROUTES = [
    (r"/admin", AdminHandler),
    (r"/admin/clients/(approve|disable|delete)", ClientActionHandler),
]
