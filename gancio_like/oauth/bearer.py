"""The resource server's bearer check (RFC 6750 §2.1, §3.1).

One indexed lookup of the token's digest; scope is checked by the caller
against the scope the handler method declared.
"""
from __future__ import annotations

from .. import clock
from ..models import AccessGrant
from ..storage import tokens as token_store
from . import credentials
from .context import OAuthContext
from .errors import InsufficientScope, InvalidToken


async def authenticate(ctx: OAuthContext, token: str) -> AccessGrant:
    grant = await token_store.get_access_grant(ctx.db, credentials.digest(token), clock.now())
    if grant is None:
        raise InvalidToken("the access token is invalid, expired or revoked")
    return grant


def require_scope(grant: AccessGrant, scope: str) -> None:
    if scope not in grant.scopes:
        raise InsufficientScope(f"this call needs the {scope} scope", scope=scope)
