"""The URL table: every core route, then the plugins' (SPEC §2–§7)."""
from __future__ import annotations

from ..errors import NotFound
from . import (admin, api_account, api_events, api_friends, api_notifications, apps, dev, discovery, events,
               federation, feeds, friends, notifications, oauth, openapi, ops, web)
from .api import ApiHandler, declared_scopes
from .base import PageHandler

API_PREFIXES = ("/api/", "/oauth/", "/.well-known/")


class NotFoundHandler(PageHandler):
    """Unknown paths: a JSON error under the API prefixes, a page elsewhere."""

    def check_xsrf_cookie(self) -> None:
        """Nothing here changes anything, so a POST gets its 404, not a 403."""

    async def prepare(self) -> None:
        if self._is_api():
            raise NotFound("endpoint")
        await super().prepare()  # the page's header shows who is logged in, as on any page
        raise NotFound("page")

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
        (r"/\.well-known/oauth-authorization-server", oauth.MetadataHandler),
        (r"/oauth/authorize", oauth.AuthorizeHandler),
        (r"/authorize", oauth.AuthorizeHandler),  # Gancio
        (r"/authorization/authorize", oauth.AuthorizeHandler),  # Fusio
        (r"/oauth/token", oauth.TokenHandler),
        (r"/oauth2/token", oauth.TokenHandler),  # the Fync seed document
        (r"/oauth/access_token", oauth.TokenHandler),  # AnyFetch
        (r"/authorization/token", oauth.TokenHandler),  # Fusio
        (r"/oauth/revoke", oauth.RevokeHandler),
        (r"/oauth/introspect", oauth.IntrospectHandler),
        (r"/oauth/register", oauth.RegisterHandler),
        (r"/oauth/register/([^/]+)", oauth.RegistrationManagementHandler),
        (r"/api/client", oauth.GancioClientHandler),
        (r"/api", api_account.ApiIndexHandler),
        (r"/api/me", api_account.MeHandler),
        *api_friends.ROUTES, *friends.ROUTES,
        *api_events.ROUTES, *events.ROUTES, *feeds.ROUTES,
        *api_notifications.ROUTES, *notifications.ROUTES,
        *dev.ROUTES, *apps.ROUTES, *admin.ROUTES, *openapi.ROUTES, *discovery.ROUTES,
        *federation.ROUTES, *ops.ROUTES,
    ]


def build(plugins, scopes) -> list[tuple]:
    """Core routes, then the plugins' (checked against the core and the scope registry)."""
    core = core_routes()
    check_scopes_declared(core)
    return core + plugins.routes(core, scopes)


def check_scopes_declared(routes: list[tuple]) -> None:
    """Refuse to start with an API method that declares no scope (SPEC §7)."""
    for pattern, handler, *_ in routes:
        if isinstance(handler, type) and issubclass(handler, ApiHandler):
            for method, scope in declared_scopes(handler).items():
                if scope is None:
                    raise ValueError(f"{handler.__name__}.{method.lower()} ({pattern}) declares no scope: "
                                     "use @requires_scope(...) or @public")
