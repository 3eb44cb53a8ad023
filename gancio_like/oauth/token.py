"""The token endpoint's grants (RFC 6749 §4.1.3, §5, §6; RFC 7636 §4.6;
OAuth 2.1 draft §4.1.3, §4.3 and §10.2; RFC 9700 §2.2.2, §4.14).

Every grant is one `db.write()` body, and the response goes out only after its
COMMIT. Single use rests on the rows themselves, not on a lock over all writes, so
processes sharing a PostgreSQL database grant side by side: a code is read with its
row locked, a refresh token is spent by `UPDATE … WHERE spent_at IS NULL`. Of two
redemptions of one code, or two uses of one refresh token, exactly one succeeds
(no grace period); the other is a replay, which ends the family.
"""
from __future__ import annotations

from .. import clock
from ..models import Client
from ..notifications import TokenIssued
from ..scopes import format_scope
from ..storage import tokens as token_store
from ..storage.db import Transaction
from . import credentials, pkce
from .context import OAuthContext
from .errors import InvalidGrant, InvalidRequest, InvalidScope, OAuthError, UnsupportedGrantType
from .params import parse_scope

GRANT_TYPES = ("authorization_code", "refresh_token")


async def grant(ctx: OAuthContext, client: Client, params: dict[str, str]) -> dict:
    """Run one grant and return the RFC 6749 §5.1 response body."""
    grant_type = params.get("grant_type")
    if grant_type is None:
        raise InvalidRequest("grant_type is required")
    if grant_type == "authorization_code":
        return await _authorization_code(ctx, client, params)
    if grant_type == "refresh_token":
        return await _refresh_token(ctx, client, params)
    raise UnsupportedGrantType(f"grant_type must be one of {', '.join(GRANT_TYPES)}")


async def _authorization_code(ctx: OAuthContext, client: Client, params: dict[str, str]) -> dict:
    code_hash = credentials.digest(_required(params, "code"))

    async def redeem(tx: Transaction) -> dict | OAuthError:
        code = await token_store.get_code(tx, code_hash)
        _check_code(code, client, params)
        now = clock.now()
        if code.used_at is None:
            access, refresh, body = new_pair(ctx, now, code.scope, code.scope)
            await token_store.redeem_code(tx, code_hash, client.pk, code.user_id, code.scope, now, access, refresh)
            tx.notify(TokenIssued, client_id=client.client_id, user_id=code.user_id, scope=code.scope,
                      grant_type="authorization_code")
            return body
        # A replayed code means it leaked: end what it issued (RFC 6749 §4.1.2, §10.5).
        # Returned, not raised, so the revocation commits before the error is answered.
        if code.grant_id is not None:
            await token_store.revoke_grant(tx, code.grant_id, reason="code_replayed")
        return InvalidGrant("authorization code was already used; its tokens are revoked")

    return _answer(await ctx.db.write(redeem, serialized=False))


def _answer(outcome: dict | OAuthError) -> dict:
    if isinstance(outcome, OAuthError):
        raise outcome
    return outcome


def _check_code(code: token_store.AuthCode | None, client: Client, params: dict[str, str]) -> None:
    """Everything but single use. Failing here changes nothing, so a thief who
    replays a code with the wrong client or verifier cannot revoke the real grant."""
    if code is None or code.client_pk != client.pk:
        raise InvalidGrant("unknown authorization code")
    if code.expires_at <= clock.now():
        raise InvalidGrant("authorization code expired")
    verifier = params.get("code_verifier")
    if code.code_challenge is None:
        if verifier is not None:  # PKCE downgrade (RFC 9700 §4.8.2)
            raise InvalidRequest("code_verifier sent for a code issued without code_challenge")
    elif verifier is None:
        raise InvalidGrant("code_verifier is required: the code was issued with a code_challenge")
    elif not pkce.verify(verifier, code.code_challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
    _check_redirect_uri(code, client, params.get("redirect_uri"))


def _check_redirect_uri(code: token_store.AuthCode, client: Client, sent: str | None) -> None:
    """RFC 6749 §4.1.3 as relaxed by OAuth 2.1 §10.2: redirect_uri may be left out
    when PKCE binds the code or the client has exactly one redirect URI."""
    if sent is not None:
        if sent != code.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the one sent to the authorization endpoint")
    elif code.redirect_uri_sent and code.code_challenge is None and len(client.redirect_uris) != 1:
        raise InvalidGrant("redirect_uri is required: send the one sent to the authorization endpoint. "
                           "It may be left out only when the code was requested with PKCE "
                           "(code_challenge) or the app has exactly one redirect URI registered")


async def _refresh_token(ctx: OAuthContext, client: Client, params: dict[str, str]) -> dict:
    token_hash = credentials.digest(_required(params, "refresh_token"))

    async def rotate(tx: Transaction) -> dict | OAuthError:
        token = await token_store.get_token(tx, token_hash)
        if token is None or token.kind != "refresh" or token.client_pk != client.pk:
            raise InvalidGrant("unknown refresh token")
        now = clock.now()
        if token.spent_at is None:
            if not token.is_live(now):
                raise InvalidGrant("refresh token is expired or revoked")
            scope = format_scope(_narrowed(ctx, params.get("scope"), frozenset(token.scope.split())))
            access, refresh, body = new_pair(ctx, now, scope, token.scope)
            if await token_store.rotate_refresh(tx, token_hash, token.grant_id, now, access, refresh):
                await token_store.touch_grant(tx, token.grant_id, now, token.grant_last_used_at)
                tx.notify(TokenIssued, client_id=client.client_id, user_id=token.user_id, scope=scope,
                          grant_type="refresh_token")
                return body
            # else another request spent it since the read: this one is a reuse too
        elif token.grant_revoked_at is not None:
            raise InvalidGrant("refresh token is expired or revoked")
        # Reuse of a rotated token: either party may be the thief, so the whole
        # family ends (RFC 9700 §4.14.2), committed before the error is answered.
        await token_store.revoke_grant(tx, token.grant_id, reason="refresh_reused")
        return InvalidGrant("refresh token was already used; every token of this grant is revoked")

    return _answer(await ctx.db.write(rotate, serialized=False))


def _narrowed(ctx: OAuthContext, requested: str | None, granted: frozenset[str]) -> frozenset[str]:
    """RFC 6749 §6: a refresh may ask for less, never for more."""
    if requested is None:
        return granted
    scope = parse_scope(ctx.scopes, requested)
    if not scope or not scope <= granted:
        raise InvalidScope("scope must be a subset of the scope originally granted")
    return scope


async def issue(ctx: OAuthContext, tx: Transaction, *, grant_id: int, client_id: str, user_id: int,
                access_scope: str, refresh_scope: str, now: int, grant_type: str) -> dict:
    """A new access token and refresh token in the grant's family → the §5.1 body."""
    access, refresh, body = new_pair(ctx, now, access_scope, refresh_scope)
    await token_store.insert_token_pair(tx, grant_id, now, access, refresh)
    tx.notify(TokenIssued, client_id=client_id, user_id=user_id, scope=access_scope, grant_type=grant_type)
    return body


def new_pair(ctx: OAuthContext, now: int, access_scope: str,
             refresh_scope: str) -> tuple[token_store.Pair, token_store.Pair, dict]:
    """Two fresh tokens → what storage keeps of each (digest, scope, expiry) and the §5.1 body."""
    oauth = ctx.cfg.oauth
    access, refresh = credentials.new_token(), credentials.new_token()
    access_exp = now + oauth.access_token_ttl if oauth.access_token_ttl else None
    refresh_exp = now + oauth.refresh_token_ttl if oauth.refresh_token_ttl else None
    body = {"access_token": access, "token_type": "Bearer", "refresh_token": refresh, "scope": access_scope}
    if access_exp is not None:
        body["expires_in"] = oauth.access_token_ttl
    return ((credentials.digest(access), access_scope, access_exp),
            (credentials.digest(refresh), refresh_scope, refresh_exp), body)


def _required(params: dict[str, str], name: str) -> str:
    if name not in params:
        raise InvalidRequest(f"{name} is required")
    return params[name]
