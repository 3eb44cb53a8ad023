"""The URL table: every core route, then the plugins' (SPEC §2–§7), each checked
before the server starts: an API method with no declared scope, or a plugin route
that is not an API route, clashes with another or needs an unknown scope, stops it."""
from __future__ import annotations

import re

from ..errors import NotFound
from ..plugin_host import PluginError
from . import (admin, api_account, api_events, api_friends, api_notifications, apps, avatars, dev, discovery,
               events, federation, feeds, friends, notifications, oauth, openapi, ops, password, pwa, web)
from .api import PUBLIC, ApiHandler, declared_scopes
from .base import PageHandler

API_PREFIXES = ("/api/", "/oauth/", "/.well-known/")


class NotFoundHandler(PageHandler):
    """Unknown paths: a JSON error under the API prefixes, a page elsewhere."""

    def check_xsrf_cookie(self) -> None:
        """Nothing here changes anything, so a POST gets its 404, not a 403."""

    async def prepare(self) -> None:
        if self.request.path.startswith(API_PREFIXES):
            self.write_json(NotFound("endpoint").body(), 404)  # finished: no method runs
            return
        await super().prepare()  # the page's header shows who is logged in, as on any page
        raise NotFound("page")


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
        *federation.ROUTES, *ops.ROUTES, *pwa.ROUTES, *avatars.ROUTES, *password.ROUTES,
    ]


def build(plugins, scopes) -> list[tuple]:
    """Core routes, then the plugins' (checked against the core and the scope registry)."""
    core = core_routes()
    check_scopes_declared(core)
    return core + plugin_routes(plugins.routes(), core, scopes)


def check_scopes_declared(routes: list[tuple]) -> None:
    """Refuse to start with an API method that declares no scope (SPEC §7)."""
    for pattern, handler, *_ in routes:
        if isinstance(handler, type) and issubclass(handler, ApiHandler):
            for method, scope in declared_scopes(handler).items():
                if scope is None:
                    raise ValueError(f"{handler.__name__}.{method.lower()} ({pattern}) declares no scope: "
                                     "use @requires_scope(...) or @public")


def plugin_routes(found: list[tuple[str, str, object]], core: list[tuple], registry) -> list[tuple]:
    """The plugins' (name, pattern, handler) routes as routes, each checked; PluginError names the plugin."""
    taken = {pattern for pattern, *_ in core}
    routes = []
    for name, pattern, handler in found:
        _check_plugin_route(name, pattern, handler, taken, registry)
        handler.plugin_name = name
        taken.add(pattern)
        routes.append((pattern, handler))
    return routes


def _check_plugin_route(name: str, pattern: str, handler, taken: set[str], registry) -> None:
    if not (isinstance(handler, type) and issubclass(handler, ApiHandler)):
        raise PluginError(f"plugin {name!r}: route {pattern} must be served by a gancio_like.plugins.ApiHandler")
    if not pattern.startswith("/api/"):
        raise PluginError(f"plugin {name!r}: route {pattern} must start with /api/")
    if pattern in taken or any(re.fullmatch(pattern, _literal(p)) for p in taken):
        raise PluginError(f"plugin {name!r}: route {pattern} clashes with an existing route")
    for method, scope in declared_scopes(handler).items():
        if scope is None:
            raise PluginError(f"plugin {name!r}: {handler.__name__}.{method.lower()} declares no scope; "
                              "use @requires_scope(...) or @public")
        if scope is not PUBLIC and scope not in registry:
            raise PluginError(f"plugin {name!r}: {handler.__name__}.{method.lower()} needs unknown scope {scope!r}")


def _literal(pattern: str) -> str:
    """A core pattern as a path, for clash checks (`/api/me` stays `/api/me`)."""
    return pattern.replace("\\", "")
