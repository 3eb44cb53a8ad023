"""Token revocation (RFC 7009 §2).

The token's own client authenticates. Unknown tokens, and tokens of another
client, get the same 200 (§2.2: the client cannot tell, and nothing changes).
Revoking a refresh token ends its whole grant (§2.1: "SHOULD also invalidate
all access tokens based on the same authorization grant").
"""
from __future__ import annotations

from ..models import Client
from ..storage import tokens as token_store
from . import credentials
from .context import OAuthContext
from .errors import InvalidRequest


async def revoke(ctx: OAuthContext, client: Client, params: dict[str, str]) -> None:
    token = params.get("token")
    if token is None:
        raise InvalidRequest("token is required")
    token_hash = credentials.digest(token)

    async def body(tx) -> None:  # one-row updates (`WHERE revoked_at IS NULL`): no cluster-wide lock
        found = await token_store.get_token(tx, token_hash)
        if found is None or found.client_pk != client.pk:
            return
        if found.kind == "refresh":
            await token_store.revoke_grant(tx, found.grant_id)
        else:
            await token_store.revoke_token(tx, token_hash)
    await ctx.db.write(body, serialized=False)
