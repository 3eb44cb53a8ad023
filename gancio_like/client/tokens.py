"""The token endpoint (RFC 6749 §4.1.3, §6) and revocation (RFC 7009), client side.

A public client identifies itself with `client_id` in the body; one with a secret
uses HTTP Basic (RFC 6749 §2.3.1). Expiry is kept as an absolute `expires_at`
(Unix seconds) so stored credentials can be judged later, by another process.
"""
from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from urllib.parse import quote

from . import http
from .discovery import Instance
from .errors import LoginExpired, TokenError
from .oauth import AuthorizationRequest
from .registration import ClientRegistration

LEEWAY = 30  # seconds: renew a little early, so a token does not expire in flight


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # None: never expires (access_token_ttl = 0)
    scope: str = ""
    token_type: str = "Bearer"

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at - LEEWAY

    def scopes(self) -> set[str]:
        return set(self.scope.split())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Tokens":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


async def exchange_code(request: AuthorizationRequest, client: ClientRegistration, code: str,
                        now: float) -> Tokens:
    """The code and its PKCE verifier → tokens (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    params = {"grant_type": "authorization_code", "code": code, "redirect_uri": request.redirect_uri,
              "code_verifier": request.code_verifier}
    return await _token_call(request.instance, client, params, now)


async def refresh(instance: Instance, client: ClientRegistration, tokens: Tokens, now: float) -> Tokens:
    """A new pair (RFC 6749 §6). Fync rotates: the old refresh token is spent from now on."""
    if not tokens.refresh_token:
        raise LoginExpired(f"the login at {instance.domain} has expired and cannot be renewed")
    params = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    try:
        fresh = await _token_call(instance, client, params, now)
    except TokenError as exc:
        if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            raise LoginExpired(f"the login at {instance.domain} has ended ({exc.error})", exc.error) from None
        raise
    # RFC 6749 §6: the server may keep the old refresh token and scope.
    return Tokens(fresh.access_token, fresh.refresh_token or tokens.refresh_token, fresh.expires_at,
                  fresh.scope or tokens.scope, fresh.token_type)


async def revoke(instance: Instance, client: ClientRegistration, token: str, hint: str) -> None:
    """RFC 7009 §2.1; a 200 also for tokens the server no longer knows."""
    form, headers = _client_auth(client, {"token": token, "token_type_hint": hint})
    reply = await http.fetch(instance.endpoint("revocation"), "POST", form=form, headers=headers)
    if reply.status != 200:
        raise TokenError(f"{instance.domain} did not revoke the token: {_why(reply)}", _code(reply))


async def _token_call(instance: Instance, client: ClientRegistration, params: dict, now: float) -> Tokens:
    form, headers = _client_auth(client, params)
    reply = await http.fetch(instance.endpoint("token"), "POST", form=form, headers=headers)
    data = reply.data()
    if reply.status != 200 or not isinstance(data, dict) or not data.get("access_token"):
        raise TokenError(f"{instance.domain} refused the token request: {_why(reply)}", _code(reply))
    if str(data.get("token_type", "")).lower() != "bearer":
        raise TokenError(f"{instance.domain} issued a {data.get('token_type')!r} token; only Bearer is supported")
    expires_in = data.get("expires_in")
    expires_at = now + expires_in if isinstance(expires_in, (int, float)) and expires_in > 0 else None
    return Tokens(data["access_token"], data.get("refresh_token"), expires_at, data.get("scope", ""))


def _client_auth(client: ClientRegistration, params: dict) -> tuple[dict, dict]:
    """(form, headers): Basic for a client with a secret, else `client_id` in the body."""
    if not client.client_secret:
        return {**params, "client_id": client.client_id}, {}
    pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
    return params, {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def _code(reply: http.Reply) -> str:
    data = reply.data()
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _why(reply: http.Reply) -> str:
    data = reply.data()
    if isinstance(data, dict) and data.get("error"):
        description = data.get("error_description")
        return f"{data['error']} ({description})" if description else str(data["error"])
    return f"HTTP {reply.status}"
