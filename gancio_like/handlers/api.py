"""The bearer-protected API base (SPEC §4, RFC 6750).

Every HTTP method of an `ApiHandler` declares its scope with `@requires_scope(...)`
or `@public`; the route table refuses, at startup, a method that declares neither.
Authentication happens in `prepare()`, before the method runs.
"""
from __future__ import annotations

import functools

from .. import validation
from ..errors import ValidationError
from ..oauth import bearer
from ..oauth.errors import InsufficientScope, InvalidRequest, InvalidToken, MissingToken
from ..oauth.params import parse_bearer
from ..jsonstrict import parse_json
from .base import JsonHandler

SCOPE_ATTR = "fync_scope"
PUBLIC = "(public)"
API_METHODS = ("get", "post", "put", "patch", "delete")


def requires_scope(scope: str):
    """Declare the scope an API method needs."""
    def mark(method):
        setattr(method, SCOPE_ATTR, scope)
        return method
    return mark


def public(method):
    """Declare an API method open to anyone (a token, if sent, is still checked)."""
    setattr(method, SCOPE_ATTR, PUBLIC)
    return method


@functools.cache
def declared_scopes(handler_class) -> dict[str, str | None]:
    """{method: scope or PUBLIC or None (undeclared)} for each method the class serves."""
    found = {}
    for name in API_METHODS:
        method = getattr(handler_class, name, None)
        if method is not None and getattr(handler_class, name) is not getattr(JsonHandler, name, None):
            found[name.upper()] = getattr(method, SCOPE_ATTR, None)
    return found


class ApiHandler(JsonHandler):
    """JSON API: bearer auth in prepare, `self.current_user`, `self.current_token`."""

    current_token = None
    plugin_name: str | None = None  # set for routes a plugin added
    openapi: dict | None = None  # per method: what `/api/openapi.json` says (see gancio_like/openapi.py)

    @property
    def plugin_config(self) -> dict:
        """The `[plugins.NAME]` settings of the plugin serving this route."""
        return self.fync.plugins.settings(self.plugin_name) if self.plugin_name else {}

    async def prepare(self) -> None:
        if self.request.method == "OPTIONS":
            return
        declared = declared_scopes(type(self))
        if self.request.method not in declared:
            return  # not served here: Tornado answers 405, not a misleading scope error
        _refuse_repeated(self.request.query_arguments)
        scope = declared[self.request.method]
        if scope is None:  # undeclared methods never run (also refused at startup)
            raise InsufficientScope("this method declares no scope", scope="")
        token = self._bearer_token()
        if token is not None:
            self.current_token = await bearer.authenticate(self.fync.oauth, token)
            self.current_user = self.current_token.user
        if scope is PUBLIC:
            return
        if token is None:
            raise MissingToken()
        bearer.require_scope(self.current_token, scope)

    def _bearer_token(self) -> str | None:
        if "access_token" in self.request.query_arguments:
            # OAuth 2.1 §5.1: never in the URL, where logs and Referer headers keep it.
            raise InvalidToken("send the access token in the Authorization header, not the URL")
        token = parse_bearer(self.request.headers.get("Authorization"))
        if token is not None and "access_token" in self.request.body_arguments:
            raise InvalidRequest("access token sent both in the header and the body")
        return token

    def json_body(self) -> dict:
        """The request body as a JSON object, or a 400 naming the problem."""
        if not self.request.body:  # the document marks these bodies required
            raise ValidationError("the body must be a JSON object; it is empty")
        try:
            data = parse_json(self.request.body)
        except ValueError as exc:
            raise ValidationError(str(exc), getattr(exc, "field", None)) from None
        if not isinstance(data, dict):
            raise ValidationError("the body must be a JSON object")
        declared = (self.openapi or {}).get(self.request.method, {}).get("request")
        if declared is not None:  # what the document says this body is, the server holds it to
            return validation.checked(data, declared)
        return data


def _refuse_repeated(arguments: dict[str, list[bytes]]) -> None:
    """`?limit=5&limit=50` is ambiguous (which one did the client mean?), so it is a 400
    rather than first or last wins; the OAuth endpoints do the same (RFC 6749 §3.1)."""
    for name, values in arguments.items():
        if len(values) > 1:
            raise ValidationError(f"query parameter {name!r} was sent more than once", name)

