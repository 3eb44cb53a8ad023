"""Token introspection (RFC 7662 §2).

Only confidential clients may ask (public clients could be anyone), and only
about their own tokens: for anything else the answer is `{"active": false}`,
which says nothing about whether the token exists (§2.2, §4).
"""
from __future__ import annotations

from .. import clock
from ..models import Client
from ..storage import tokens as token_store
from . import credentials
from .context import OAuthContext
from .errors import InvalidClient, InvalidRequest

TOKEN_TYPES = {"access": "Bearer", "refresh": "refresh_token"}


async def introspect(ctx: OAuthContext, client: Client, params: dict[str, str]) -> dict:
    if client.is_public:
        raise InvalidClient("introspection needs a confidential client")
    token = params.get("token")
    if token is None:
        raise InvalidRequest("token is required")
    found = await token_store.get_token(ctx.db, credentials.digest(token))
    if found is None or found.client_pk != client.pk or not found.is_live(clock.now()):
        return {"active": False}
    body = {"active": True, "scope": found.scope, "client_id": found.client_id,
            "username": found.username, "sub": str(found.user_id),
            "token_type": TOKEN_TYPES[found.kind], "iat": found.created_at, "iss": ctx.issuer}
    if found.expires_at is not None:
        body["exp"] = found.expires_at
    return body
