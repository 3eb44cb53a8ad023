"""The developer portal `/dev` (SPEC §2; the Fync and Fyle seed documents): your
apps, their credentials, an authorization URL builder and internal-app tokens."""
from __future__ import annotations

import tornado.web

from ..errors import ValidationError
from ..models import Client
from ..services import apps
from .apps import AppsPage
from .confirm import Ask, confirmed

FIELDS = ("name", "description", "website", "redirect_uris")


class PortalPage(AppsPage):
    """What the portal's pages share: the app form and showing credentials once."""

    def form(self) -> dict:
        """The submitted form, as typed, for re-rendering after an error."""
        form = {name: self.get_body_argument(name, "") for name in FIELDS}
        form["scopes"] = self.get_body_arguments("scope")
        form["client_type"] = self.get_body_argument("client_type", "confidential")
        return form

    def checked(self, form: dict) -> apps.AppFields:
        return apps.read_form(self.fync.oauth, name=form["name"], description=form["description"],
                              website=form["website"], redirect_uris=form["redirect_uris"],
                              scopes=form["scopes"], client_type=form["client_type"])

    def render_form(self, form: dict, client: Client | None = None, error: str | None = None) -> None:
        if error:
            self.set_status(400)
        self.render("dev_form.html", form=form, client=client, error=error, scopes=self.fync.scopes)

    async def reveal(self, client_id: str, **values) -> None:
        """Show these once on the app's page, where the POST redirects to (any process may serve it)."""
        await self.reveals.put(self.session_token, client_id, values)
        self.redirect(f"/dev/apps/{client_id}", status=303)

    @property
    def reveals(self) -> apps.Reveals:
        return self.fync.reveals


class DevHandler(PortalPage):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.render("dev_list.html", apps=await apps.list_own_apps(self.db, self.current_user))


class NewAppHandler(PortalPage):
    @tornado.web.authenticated
    def get(self) -> None:
        self.render_form({"scopes": ["profile"], "client_type": "confidential"})

    @tornado.web.authenticated
    async def post(self) -> None:
        form = self.form()
        try:
            client, secret = await apps.create_app(self.fync.oauth, self.current_user, self.checked(form))
        except ValidationError as exc:
            return self.render_form(form, error=exc.description)
        await self.reveal(client.client_id, client_secret=secret, created=True)


class AppHandler(PortalPage):
    """The app's page; `?redirect_uri=…&scope=…&state=…` fills the authorization URL builder."""

    @tornado.web.authenticated
    async def get(self, client_id: str) -> None:
        client = await apps.own_app(self.db, self.current_user, client_id)
        shown = await self.reveals.take(self.session_token, client_id)
        builder, error = self.builder(client)
        self.set_status(400 if error else 200)
        self.render("dev_app.html", client=client, shown=shown, builder=builder, error=error,
                    scopes=self.fync.scopes, client_type=apps.client_type(client),
                    needs_pkce=apps.needs_pkce(self.fync.oauth, client))

    def builder(self, client: Client) -> tuple[dict, str | None]:
        """The builder's fields (all scopes ticked at first) and the URL, or why not."""
        building = "redirect_uri" in self.request.query_arguments
        builder = {"redirect_uri": self.get_argument("redirect_uri", client.redirect_uris[0]),
                   "scopes": self.get_arguments("scope") if building else sorted(client.scopes),
                   "state": self.get_argument("state", ""), "url": None}
        if not building:
            return builder, None
        try:
            builder["url"] = apps.authorization_url(self.fync.oauth, client, builder["redirect_uri"],
                                                    builder["scopes"], builder["state"])
        except ValidationError as exc:
            return builder, exc.description
        return builder, None


class EditAppHandler(PortalPage):
    @tornado.web.authenticated
    async def get(self, client_id: str) -> None:
        client = await apps.own_app(self.db, self.current_user, client_id)
        form = {"name": client.name, "description": client.description, "website": client.website,
                "redirect_uris": "\n".join(client.redirect_uris), "scopes": sorted(client.scopes),
                "client_type": apps.client_type(client)}
        self.render_form(form, client)

    @tornado.web.authenticated
    async def post(self, client_id: str) -> None:
        client = await apps.own_app(self.db, self.current_user, client_id)
        form = {**self.form(), "client_type": apps.client_type(client)}
        try:
            await apps.update_app(self.fync.oauth, client, self.checked(form))
        except ValidationError as exc:
            return self.render_form(form, client, exc.description)
        self.redirect(f"/dev/apps/{client_id}", status=303)


class NewSecretHandler(PortalPage):
    """Asks first: the current secret stops working, which breaks the app until it has the new one."""

    @tornado.web.authenticated
    async def post(self, client_id: str) -> None:
        client = await apps.own_confidential_app(self.db, self.current_user, client_id)
        if confirmed(self, Ask(self._("Generate a new secret for %(app)s?", app=client.name),
                               self._("The current secret stops working at once: the app cannot get tokens until "
                                      "it uses the new one, shown once on the next page. Tokens already issued "
                                      "stay valid."),
                               self._("Generate a new secret"), back=f"/dev/apps/{client_id}#credentials")):
            secret = await apps.new_secret(self.fync.oauth, self.current_user, client_id)
            await self.reveal(client_id, client_secret=secret)


class InternalTokenHandler(PortalPage):
    @tornado.web.authenticated
    async def post(self, client_id: str) -> None:
        tokens = await apps.mint_internal(self.fync.oauth, self.current_user, client_id)
        await self.reveal(client_id, refresh_token=tokens["refresh_token"], access_token=tokens["access_token"])


class DeleteAppHandler(PortalPage):
    @tornado.web.authenticated
    async def post(self, client_id: str) -> None:
        client = await apps.own_app(self.db, self.current_user, client_id)
        if confirmed(self, Ask(self._("Delete %(app)s?", app=client.name),
                               self._("Every token it holds stops working, for everyone who connected it, and "
                                      "its client ID is gone for good. This cannot be undone."),
                               self._("Delete %(app)s", app=client.name), back=f"/dev/apps/{client_id}")):
            await apps.delete_app(self.fync.oauth, self.current_user, client_id)
            self.redirect("/dev", status=303)


ROUTES = [
    (r"/dev", DevHandler),
    (r"/dev/new", NewAppHandler),
    (r"/dev/apps/([^/]+)", AppHandler),
    (r"/dev/apps/([^/]+)/edit", EditAppHandler),
    (r"/dev/apps/([^/]+)/secret", NewSecretHandler),
    (r"/dev/apps/([^/]+)/token", InternalTokenHandler),
    (r"/dev/apps/([^/]+)/delete", DeleteAppHandler),
]
