"""A logged-in user at one instance: API calls with a bearer token (RFC 6750) that
renews itself.

The token is renewed before a call when `expires_at` has passed (by the client's
own clock, `clock`), and once more after a 401 `invalid_token`, since the server's
clock decides in the end. Fync rotates refresh tokens (SPEC §3): each renewal
spends the old one, so the new pair goes to `on_tokens` at once — an app that lost
it would be logged out, and one that reused the old token would end the login.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from . import http, tokens as token_api
from .discovery import Instance
from .errors import ApiError
from .registration import ClientRegistration
from .tokens import Tokens


class Session:
    def __init__(self, instance: Instance, client: ClientRegistration, tokens: Tokens,
                 on_tokens: Callable[[Tokens], None] | None = None,
                 clock: Callable[[], float] = time.time):
        self.instance, self.client, self.tokens = instance, client, tokens
        self.on_tokens, self.clock = on_tokens, clock

    @property
    def domain(self) -> str:
        return self.instance.domain

    def url(self, path: str) -> str:
        """A path on the instance (`/api/me`) → its absolute URL."""
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"expected a path on the instance such as /api/me, not {path!r}")
        return self.instance.issuer + path

    async def get(self, path: str, **params: Any) -> Any:
        """GET `path` (query from `params`) → the JSON body; ApiError on an error status."""
        query = f"?{urlencode(params)}" if params else ""
        return await self.request("GET", path + query)

    async def request(self, method: str, path: str, json_body: Any = None) -> Any:
        if self.tokens.expired(self.clock()):
            await self.refresh()
        reply = await self._send(method, path, json_body)
        if reply.status == 401 and self.tokens.refresh_token and _error(reply) == "invalid_token":
            await self.refresh()
            reply = await self._send(method, path, json_body)
        if reply.status >= 400:
            raise _api_error(self.domain, method, path, reply)
        return reply.data()

    async def refresh(self) -> Tokens:
        """Renew now (RFC 6749 §6) and hand the new pair to `on_tokens`; LoginExpired if refused."""
        self.tokens = await token_api.refresh(self.instance, self.client, self.tokens, self.clock())
        if self.on_tokens:
            self.on_tokens(self.tokens)
        return self.tokens

    async def revoke(self) -> None:
        """End the login at the instance (RFC 7009): the refresh token ends its whole family."""
        token, hint = self.tokens.refresh_token, "refresh_token"
        if not token:
            token, hint = self.tokens.access_token, "access_token"
        await token_api.revoke(self.instance, self.client, token, hint)

    async def _send(self, method: str, path: str, json_body: Any) -> http.Reply:
        headers = {"Authorization": f"Bearer {self.tokens.access_token}"}
        return await http.fetch(self.url(path), method, headers=headers, json_body=json_body)


def _error(reply: http.Reply) -> str:
    """The RFC 6750 error code, from the JSON body or the WWW-Authenticate header."""
    data = reply.data()
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return "invalid_token" if 'error="invalid_token"' in reply.headers.get("WWW-Authenticate", "") else ""


def _api_error(domain: str, method: str, path: str, reply: http.Reply) -> ApiError:
    data = reply.data() if isinstance(reply.data(), dict) else {}
    code, description = _error(reply), data.get("error_description", "")
    message = f"{method} {path} at {domain} failed: HTTP {reply.status}"
    if code:
        message += f" {code}" + (f" ({description})" if description else "")
    return ApiError(message, reply.status, code)
