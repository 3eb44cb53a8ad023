"""Handler bases: `PageHandler` for cookie-authenticated HTML, `JsonHandler` for
cookie-less JSON endpoints. Each renders every error, whatever raised it, in its one
`write_error`: the error itself says its status, body and headers."""
from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import tornado.locale
import tornado.web

from .. import accesslog, languages, timezones
from ..avatars import avatar_url, remote_avatar_url
from ..errors import Conflict, FyncError, StatusError, MethodNotAllowed, Unavailable, ValidationError
from ..services import accounts, notify, suggestions
from ..storage import errors as storage_errors

log = logging.getLogger("fync")
SESSION_COOKIE = "fync_session"
STORAGE_RETRY_AFTER = 5  # seconds a client is asked to wait when the database refuses writes

# Pages must never be framed (clickjacking, RFC 9700 §4.16) nor leak their URL onward.
# No form-action: browsers apply it to the consent POST's redirect to the app.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def known_error(exc: BaseException | None) -> FyncError | None:
    """The error to answer with for an exception Fync knows: its own errors as they are,
    storage's mapped to HTTP here, once. None for anything else (Tornado's, or a bug)."""
    if isinstance(exc, FyncError):
        return exc
    if isinstance(exc, storage_errors.Unavailable):
        return Unavailable("the database cannot take writes right now; try again shortly", STORAGE_RETRY_AFTER)
    if isinstance(exc, storage_errors.Conflict):
        return Conflict("another request changed the same data at the same time; try again")
    if isinstance(exc, OverflowError) and "SQLite INTEGER" in str(exc):
        # No row can hold a number past 64 bits, so it is bad input wherever it came from
        # (an unbounded route group or JSON number in a plugin, say), never a server fault.
        return ValidationError("a number in the request is too large (the most is 2**63 - 1)")
    return None


def load_catalogs() -> None:
    """At startup: Tornado's locales from Fync's gettext catalogs; English when nothing fits."""
    tornado.locale.load_gettext_translations(str(languages.LOCALE_DIR), languages.DOMAIN)
    tornado.locale.set_default_locale(languages.DEFAULT)


class BaseHandler(tornado.web.RequestHandler):
    """What every Fync handler shares: the app's state and in-flight counting."""

    def initialize(self) -> None:
        self.application.in_flight += 1

    def on_finish(self) -> None:
        self.application.in_flight -= 1

    @property
    def fync(self):
        return self.application

    @property
    def db(self):
        return self.application.db

    @property
    def cfg(self):
        return self.application.cfg

    def _request_summary(self) -> str:
        """Tornado's own warning lines: the path and a redacted query, never codes or state."""
        query = accesslog.safe_query(self.request.query)
        return f"{self.request.method} {self.request.path}{'?' + query if query else ''} ({self.request.remote_ip})"

    def log_exception(self, typ, value, tb) -> None:
        """Fync's own errors are answers, not faults; storage's and SQLite's get one line;
        anything else is a bug, logged with its traceback."""
        where = f"{self.request.method} {self.request.path}"
        if known_error(value) is None:
            super().log_exception(typ, value, tb)
        elif isinstance(value, storage_errors.StorageError):
            log.error("storage %s on %s: %s", type(value).__name__.lower(), where, value)
        elif isinstance(value, OverflowError):
            log.warning("unbounded number reached SQLite on %s", where)

    def error_from(self, kwargs) -> FyncError:
        """In write_error: the error to answer with, its status and headers already set."""
        error = known_error(kwargs.get("exc_info", (None, None, None))[1])
        if error is None:
            status = self.get_status()  # Tornado's own HTTPError, or 500 for an unexpected fault
            error = MethodNotAllowed(self.allowed_methods()) if status == 405 else StatusError(status, self._reason)
        self.set_status(error.status_code)
        for name, value in error.headers().items():
            self.set_header(name, value)
        return error

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler serves (Tornado's defaults answer 405)."""
        return [m for m in cls.SUPPORTED_METHODS
                if getattr(cls, m.lower(), None) is not getattr(tornado.web.RequestHandler, m.lower(), None)]

    def write_json(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data, separators=(",", ":")))


class PageHandler(BaseHandler):
    """HTML pages; the user comes from the server-side session cookie."""

    def set_default_headers(self) -> None:
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)

    unread = 0  # the header's count of unread notifications

    async def prepare(self) -> None:
        self.session_token = self.get_cookie(SESSION_COOKIE)
        self.current_user = await accounts.session_user(self.db, self.session_token)
        if self.current_user is not None:
            self.unread = await notify.count_unread(self.db, self.current_user.id)

    async def log_in(self, user_id: int) -> None:
        """A fresh session; one planted before login is ended, never adopted."""
        if self.session_token:
            await accounts.end_session(self.db, self.session_token)
        self.set_session(await accounts.start_session(self.db, user_id))

    def set_session(self, token: str) -> None:
        self.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax",
                        secure=self.fync.secure, expires_days=accounts.SESSION_DAYS)

    def get_user_locale(self) -> tornado.locale.Locale | None:
        """The person's chosen language; None (so Accept-Language decides) when they chose none."""
        chosen = getattr(self.current_user, "locale", "")
        return tornado.locale.get(chosen) if languages.is_language(chosen) else None

    def _(self, message: str, **values) -> str:
        """`message` in the page's language, with `%(name)s` filled from `values`."""
        translated = self.locale.translate(message)
        return translated % values if values else translated

    def notice(self, notices: dict[str, str]) -> str | None:
        """The notice `?done=` picks from a fixed list (never text from the URL), translated."""
        found = notices.get(self.get_query_argument("done", ""))
        return self.locale.translate(found) if found else None

    def reasons(self, suggestion) -> list[str]:
        """Why someone is suggested, in the page's language (plurals included)."""
        return suggestions.reasons(suggestion, self.locale.translate)

    def render(self, template: str, **kwargs) -> None:
        """A page is in the reader's language, so caches keep one per Accept-Language; an
        error shown on it is translated when the catalogs know its words."""
        self.add_header("Vary", "Accept-Language")
        error = kwargs.get("error")
        kwargs["error"] = self.locale.translate(error) if error else None
        super().render(template, cfg=self.cfg, unread=self.unread, **kwargs)

    @property
    def zone(self) -> str:
        """The viewer's time zone: their own, else the instance's (visitors too)."""
        return timezones.zone_for(self.current_user, self.cfg.instance.timezone)

    def get_template_namespace(self) -> dict:
        """Every page can show a time in the viewer's zone, named, and anyone's picture."""
        namespace = super().get_template_namespace()
        issuer = self.cfg.issuer
        zone, translate = self.zone, self.locale.translate
        namespace.update(
            zone=zone, when=lambda timestamp: (self._("never") if timestamp is None
                                               else timezones.local_text(timestamp, zone, translate)),
            day=lambda timestamp: timezones.local_date(timestamp, zone, translate),
            iso=lambda timestamp: timezones.iso(timestamp, zone),
            avatar=lambda username, version=0: avatar_url(issuer, username, version),
            remote_avatar=lambda acct: remote_avatar_url(issuer, acct))
        return namespace

    def local_next(self, default: str = "/") -> str:
        return safe_next(self.get_argument("next", default), default)

    def write_error(self, status_code: int, **kwargs) -> None:
        error = self.error_from(kwargs)
        self.render("error.html", status=error.status_code, message=self.locale.translate(error.description))


def safe_next(target: str, default: str = "/") -> str:
    """Only a local path: `//host`, `/\\host`, schemes and control chars go to default."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 for c in target):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


class JsonHandler(BaseHandler):
    """Cookie-less JSON endpoints: exempt from XSRF, CORS-open, errors as JSON."""

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("X-Content-Type-Options", "nosniff")

    def check_xsrf_cookie(self) -> None:
        """No cookie identifies the caller here, so a forged cross-site POST gains nothing."""

    def compute_etag(self) -> None:
        """No ETag: API answers are per token and rarely repeat, so hashing each body is waste."""
        return None

    def options(self, *args) -> None:
        self.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
        self.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
        self.set_header("Access-Control-Max-Age", "86400")
        self.set_status(204)
        self.finish()

    def write_error(self, status_code: int, **kwargs) -> None:
        error = self.error_from(kwargs)
        self.write_json(error.body(), error.status_code)
