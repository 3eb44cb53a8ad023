"""Client authentication at the token, revocation and introspection endpoints
(RFC 6749 §2.3, §3.2.1; RFC 7591 §2 `token_endpoint_auth_method`).

Methods: `client_secret_basic`, `client_secret_post`, and `none` (public clients
name themselves with `client_id` alone). A client must use exactly one method
(RFC 6749 §2.3). An unknown client and a wrong secret fail identically, and the
secret is hashed either way so the two take the same time.
"""
from __future__ import annotations

from ..models import Client
from . import credentials
from .clients import find_client
from .context import OAuthContext
from .errors import InvalidClient, InvalidRequest
from .params import parse_basic_auth


async def authenticate(ctx: OAuthContext, authorization: str | None, params: dict[str, str]) -> Client:
    """The calling client, or InvalidClient / InvalidRequest."""
    basic = parse_basic_auth(authorization)
    client_id, secret = _presented(basic, params)
    client = await find_client(ctx, client_id)
    stored = client.secret_hash if client else None
    secret_ok = credentials.matches(secret, stored)
    if not _accepted(client, secret, secret_ok):
        raise InvalidClient("client authentication failed", basic=basic is not None)
    return client


def _accepted(client: Client | None, secret: str | None, secret_ok: bool) -> bool:
    """An active client proving itself its way: public ones send no secret, others the right one."""
    if client is None or client.status != "active":
        return False
    return secret is None if client.is_public else secret_ok


def _presented(basic: tuple[str, str] | None, params: dict[str, str]) -> tuple[str, str | None]:
    if basic is not None:
        if "client_secret" in params or params.get("client_id", basic[0]) != basic[0]:
            raise InvalidRequest("client credentials sent both in Basic and in the body: use one method")
        return basic
    if "client_id" not in params:
        raise InvalidClient("client authentication required (HTTP Basic, or client_id in the body)")
    return params["client_id"], params.get("client_secret")
