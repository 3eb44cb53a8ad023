"""The URL table: every core route, then the plugins' (SPEC §2–§7)."""
from __future__ import annotations

from ..errors import NotFound
from . import web
from .base import PageHandler

API_PREFIXES = ("/api/", "/oauth/", "/.well-known/")


class NotFoundHandler(PageHandler):
    """Unknown paths: a JSON error under the API prefixes, a page elsewhere."""

    def prepare(self) -> None:
        raise NotFound("page" if not self._is_api() else "endpoint")

    def _is_api(self) -> bool:
        return self.request.path.startswith(API_PREFIXES)

    def write_error(self, status_code: int, **kwargs) -> None:
        if self._is_api():
            self.set_header("Content-Type", "application/json")
            return self.write_json(self.error_from(kwargs).body(), 404)
        super().write_error(status_code, **kwargs)


def core_routes() -> list[tuple]:
    return [
        (r"/", web.HomeHandler),
        (r"/signup", web.SignupHandler),
        (r"/login", web.LoginHandler),
        (r"/logout", web.LogoutHandler),
        (r"/settings", web.SettingsHandler),
    ]


def build(plugins) -> list[tuple]:
    return core_routes()
