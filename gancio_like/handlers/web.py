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
        keys = (("login-user", username.lower()), ("login-ip", self.request.remote_ip))
        wait = self.fync.login_throttle.retry_after(*keys)
        if wait:
            raise TooManyRequests(f"too many failed logins; try again in {wait} s", wait)
        user_id = await accounts.authenticate(self.db, self.fync.passwords, username, password)
        if user_id is None:
            self.fync.login_throttle.hit(*keys)
            self.set_status(401)
            return self.render("login.html", next=self.local_next(), username=username,
                               error="wrong username or password")
        self.fync.login_throttle.reset(keys[0])
        await self.log_in(user_id)
        self.redirect(self.local_next(), status=303)


class LogoutHandler(PageHandler):
    async def post(self) -> None:
        if self.session_token:
            await accounts.end_session(self.db, self.session_token)
        self.clear_cookie(SESSION_COOKIE)
        self.redirect("/", status=303)


class SettingsHandler(PageHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.render("settings.html", saved=self.get_argument("saved", ""))

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
        if await accounts.authenticate(self.db, self.fync.passwords, self.current_user.username,
                                       current) is None:
            raise ValidationError("current password is wrong", "current_password")
        await accounts.set_password(self.db, self.fync.passwords, self.current_user.id,
                                    self.get_body_argument("new_password"),
                                    on_changed=self.fync.on_password_changed)
        # Every session ended, this one included; the person changing it stays logged in.
        self.set_session(await accounts.start_session(self.db, self.current_user.id))
