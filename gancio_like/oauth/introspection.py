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
    row = await token_store.get_token(ctx.db, credentials.digest(token))
    if row is None or row["client_pk"] != client.pk or not token_store.is_live(row, clock.now()):
        return {"active": False}
    body = {"active": True, "scope": row["scope"], "client_id": row["client_id"],
            "username": row["username"], "sub": str(row["user_id"]),
            "token_type": TOKEN_TYPES[row["kind"]], "iat": row["created_at"], "iss": ctx.issuer}
    if row["expires_at"] is not None:
        body["exp"] = row["expires_at"]
    return body
