"""Account pages: home, signup, login, logout, settings (SPEC §2)."""
from __future__ import annotations

import tornado.web

from ..errors import Forbidden, TooManyRequests, ValidationError
from ..services import accounts
from .base import SESSION_COOKIE, PageHandler


class HomeHandler(PageHandler):
    def get(self) -> None:
        self.render("home.html")


class SignupHandler(PageHandler):
    def get(self) -> None:
        self._check_open()
        self.render("signup.html", form={})

    async def post(self) -> None:
        self._check_open()
        form = {k: self.get_body_argument(k, "") for k in ("username", "password", "display_name")}
        try:
            user_id = await accounts.create_user(self.db, self.fync.passwords, form["username"],
                                                 form["password"], form["display_name"])
        except ValidationError as exc:
            self.set_status(400)
            return self.render("signup.html", form=form, error=exc.description)
        await self.log_in(user_id)
        self.redirect("/", status=303)

    def _check_open(self) -> None:
        if not self.cfg.instance.open_signup:
            raise Forbidden("signup is closed on this instance; ask an admin for an account")


class LoginHandler(PageHandler):
    def get(self) -> None:
        self.render("login.html", next=self.local_next(), username="")

    async def post(self) -> None:
        username = self.get_body_argument("username", "")
        password = self.get_body_argument("password", "")
        keys = await login_attempt(self, username)
        user_id = await accounts.authenticate(self.db, self.fync.passwords, username, password)
        if user_id is None:
            self.set_status(401)
            return self.render("login.html", next=self.local_next(), username=username,
                               error="wrong username or password")
        await login_succeeded(self, keys)
        await self.log_in(user_id)
        self.redirect(self.local_next(), status=303)


async def login_attempt(handler: PageHandler, username: str) -> tuple:
    """Count a password attempt against the name and the address (429 when over the limit).
    Counted before the password is checked, so parallel guesses cannot slip past the limit."""
    keys = (("login-user", username.lower()[:64]), ("login-ip", handler.request.remote_ip))
    wait = await handler.fync.login_throttle.attempt(*keys)
    if wait:
        raise TooManyRequests(f"too many failed logins; try again in {wait} s", wait)
    return keys


async def login_succeeded(handler: PageHandler, keys: tuple) -> None:
    """A right password: the name's failures are forgotten, the address's attempt given back."""
    await handler.fync.login_throttle.reset(keys[0])
    await handler.fync.login_throttle.forgive(keys[1])


class LogoutHandler(PageHandler):
    async def post(self) -> None:
        if self.session_token:
            await accounts.end_session(self.db, self.session_token)
        self.clear_cookie(SESSION_COOKIE)
        self.redirect("/", status=303)


class SettingsHandler(PageHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        saved = self.get_argument("saved", "")
        self.render("settings.html", saved=saved if saved in ("profile", "password") else "")

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            if "new_password" in self.request.body_arguments:
                await self._change_password()
                return self.redirect("/settings?saved=password", status=303)
            await accounts.update_profile(
                self.db, self.current_user.id, self.get_body_argument("display_name", ""),
                self.get_body_argument("bio", ""), self.get_body_argument("interests", ""))
        except ValidationError as exc:
            self.set_status(400)
            return self.render("settings.html", saved="", error=exc.description)
        self.redirect("/settings?saved=profile", status=303)

    async def _change_password(self) -> None:
        current = self.get_body_argument("current_password", "")
        keys = await login_attempt(self, self.current_user.username)
        if await accounts.authenticate(self.db, self.fync.passwords, self.current_user.username,
                                       current) is None:
            raise ValidationError("current password is wrong", "current_password")
        await login_succeeded(self, keys)
        await accounts.set_password(self.db, self.fync.passwords, self.current_user.id,
                                    self.get_body_argument("new_password"))
        # Every session ended, this one included; the person changing it stays logged in.
        self.set_session(await accounts.start_session(self.db, self.current_user.id))
