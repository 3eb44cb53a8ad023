"""Account pages: home, signup, login, logout, settings (SPEC §2)."""
from __future__ import annotations

import tornado.web

from .. import timezones
from ..languages import LANGUAGES, N_
from ..errors import Forbidden, TooManyRequests, ValidationError
from ..services import accounts, events, home, push
from .base import SESSION_COOKIE, PageHandler
from .friends import NOTICES


class HomeHandler(PageHandler):
    """Logged in: requests to answer, coming events, people like you. Visitors: a welcome
    and the instance's upcoming public events."""

    async def get(self) -> None:
        if self.current_user is None:
            upcoming = await events.list_events(self.db, self.fync.cursors, limit=str(home.SHOWN))
            return self.render("home.html", home=None, upcoming=upcoming.items)
        found = await home.home(self.db, self.cfg.domain, self.current_user)
        self.render("home.html", home=found, steps=found.first_steps(self.current_user),
                    reasons=self.reasons, notice=self.notice(NOTICES))


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
        self.render("login.html", next=self.local_next(), username="", reset=self.get_argument("reset", "") == "1")

    async def post(self) -> None:
        username = self.get_body_argument("username", "")
        password = self.get_body_argument("password", "")
        keys = await login_attempt(self, username)
        user_id = await accounts.authenticate(self.db, self.fync.passwords, username, password)
        if user_id is None:
            self.set_status(401)
            return self.render("login.html", next=self.local_next(), username=username, reset=False,
                               error=N_("wrong username or password"))
        await login_succeeded(self, keys)
        await self.log_in(user_id)
        self.redirect(self.local_next(), status=303)


async def login_attempt(handler: PageHandler, username: str) -> tuple:
    """Count a password attempt against the name and the address (429 when over the limit).
    Counted before the password is checked, so parallel guesses cannot slip past the limit."""
    keys = (("login-user", username.lower()[:64]), ("login-ip", handler.request.remote_ip))
    wait = await handler.fync.login_throttle.attempt(*keys)
    if wait:
        raise TooManyRequests(handler._("too many failed logins; try again in %(seconds)d s", seconds=wait), wait)
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
    """Three forms POST here: the profile, the picture (multipart, `avatar`; or
    `avatar_remove`) and the password. Each changes only what it carries."""

    SAVED = ("profile", "password", "picture")

    @tornado.web.authenticated
    async def get(self) -> None:
        saved = self.get_argument("saved", "")
        await self.show(saved=saved if saved in self.SAVED else "")

    async def show(self, saved: str = "", error: str | None = None) -> None:
        """The page, with the devices that get the person's notifications (settings_devices.html)."""
        devices = await push.devices(self.db, self.current_user.id)
        self.render("settings.html", saved=saved, error=error, zones=timezones.choices(), languages=LANGUAGES,
                    default_zone=self.cfg.instance.timezone, devices=devices, push_service=push.origin,
                    device_removed=self.get_argument("removed", "") == "device")

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            saved = await self._save()
        except ValidationError as exc:
            self.set_status(400)
            return await self.show(error=exc.description)
        self.redirect(f"/settings?saved={saved}", status=303)

    async def _save(self) -> str:
        if "new_password" in self.request.body_arguments:
            await self._change_password()
            return "password"
        if "avatar" in self.request.files or "avatar_remove" in self.request.body_arguments:
            await self._change_picture()
            return "picture"
        await accounts.update_profile(
            self.db, self.current_user.id, self.get_body_argument("display_name", ""),
            self.get_body_argument("bio", ""), self.get_body_argument("interests", ""),
            self.get_body_argument("email", None), self.get_body_argument("timezone", None),
            self.get_body_argument("locale", None))
        return "profile"

    async def _change_picture(self) -> None:
        if "avatar_remove" in self.request.body_arguments:
            return await self.fync.avatars.remove(self.current_user.id)
        upload = self.request.files["avatar"][0]
        if not upload.body:
            raise ValidationError("choose a picture to upload first", "avatar")
        await self.fync.avatars.upload(self.current_user.id, upload.body)

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
