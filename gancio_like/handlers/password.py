"""Password reset pages (SPEC §2): `/password/forgot` and `/password/reset?token=…`.
The rules are in services/password_reset.py; the mail goes out in the background."""
from __future__ import annotations

from ..errors import TooManyRequests, ValidationError
from ..services import password_reset
from .base import SESSION_COOKIE, PageHandler


class ForgotHandler(PageHandler):
    """One answer for every name or address: a 303 to `?sent=1`, match or not."""

    def get(self) -> None:
        self.render("password_forgot.html", sent=self.get_query_argument("sent", "") == "1",
                    mail=self.fync.mailer.enabled, login="")

    async def post(self) -> None:
        if not self.fync.mailer.enabled:
            return self.redirect("/password/forgot", status=303)
        wait = await self.fync.reset_throttle.attempt(("reset-ip", self.request.remote_ip))
        if wait:
            raise TooManyRequests(self._("too many password reset requests from here; try again in %(seconds)d s",
                                          seconds=wait), wait)
        try:
            login = password_reset.check_login(self.get_body_argument("login", ""))
        except ValidationError as exc:
            self.set_status(400)
            return self.render("password_forgot.html", sent=False, mail=True, login="", error=exc.description)
        self.fync.background.spawn(password_reset.request_link(self.db, self.fync.mailer, self.cfg.issuer,
                                                               self.cfg.instance.name, login, self.locale.code),
                                   "a password reset request")
        self.redirect("/password/forgot?sent=1", status=303)


class ResetHandler(PageHandler):
    """The link's form; its token is a credential, so the page is never cached."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    async def get(self) -> None:
        token = self.get_query_argument("token", "")
        if await password_reset.link_user(self.db, token) is None:
            return self.refuse(password_reset.EXPIRED)
        self.render("password_reset.html", token=token)

    async def post(self) -> None:
        token = self.get_body_argument("token", "")
        try:
            await password_reset.reset_password(self.db, self.fync.passwords, token,
                                                self.get_body_argument("new_password", ""))
        except ValidationError as exc:
            return self.refuse(exc.description, token if exc.field != "token" else "")
        self.clear_cookie(SESSION_COOKIE)  # every session of the account has ended
        self.redirect("/login?reset=1", status=303)

    def refuse(self, message: str, token: str = "") -> None:
        self.set_status(400)
        self.render("password_reset.html", token=token, error=message)


ROUTES = [
    (r"/password/forgot", ForgotHandler),
    (r"/password/reset", ResetHandler),
]
