"""The authorization endpoint (RFC 6749 §3.1, §4.1.1–§4.1.2; RFC 7636 §4.3;
RFC 9207 §2 `iss`; RFC 9700 §4.1, §4.11.2; OAuth 2.1 draft §4.1.1).

Order matters: the client and redirect URI are checked first, and while either
is in doubt nothing is redirected (a 400 page instead), so the endpoint can never
be used as an open redirector. Only then do errors go back to the client.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from .. import clock
from ..models import Client
from ..scopes import format_scope
from ..storage import clients as client_store
from ..storage import tokens as token_store
from ..storage.db import Transaction
from . import credentials, pkce
from .clients import find_client
from .context import OAuthContext
from .errors import AccessDenied, InvalidScope, OAuthError, UnsupportedResponseType
from .params import parse_scope, single_params
from .redirect_uris import match_redirect_uri

PENDING_TTL = 600  # seconds a consent page stays answerable


class UnsafeRedirect(OAuthError):
    """The client or redirect URI cannot be trusted: show a page, never redirect."""
    error = "invalid_request"


@dataclass(frozen=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    redirect_uri_sent: bool
    scopes: frozenset[str]
    state: str | None
    code_challenge: str | None
    force_prompt: bool
    replace_existing: bool


async def resolve_client(ctx: OAuthContext, args: dict[str, list[bytes]]) -> tuple[Client, str, bool]:
    """(client, redirect_uri, whether redirect_uri was sent), or UnsafeRedirect."""
    client_id = _one(args, "client_id")
    requested = _one(args, "redirect_uri")
    client = await find_client(ctx, client_id)
    if client is None:
        raise UnsafeRedirect("unknown client_id")
    if client.status != "active":
        raise UnsafeRedirect("this app is not active on this instance (awaiting approval or disabled)")
    redirect_uri = match_redirect_uri(requested, list(client.redirect_uris))
    if redirect_uri is None:
        raise UnsafeRedirect("redirect_uri is missing or not registered for this app")
    return client, redirect_uri, requested is not None


def _one(args: dict[str, list[bytes]], name: str) -> str | None:
    values = args.get(name, [])
    if len(values) > 1:
        raise UnsafeRedirect(f"parameter {name!r} was sent more than once")
    try:
        value = values[0].decode("utf-8") if values else ""
    except UnicodeDecodeError:
        raise UnsafeRedirect(f"parameter {name!r} is not valid UTF-8") from None
    if "\x00" in value:
        raise UnsafeRedirect(f"parameter {name!r} contains a NUL character")
    return value or None


def parse(ctx: OAuthContext, client: Client, redirect_uri: str, sent: bool,
          args: dict[str, list[bytes]]) -> AuthorizationRequest:
    """The validated request; its errors carry `state` and go back to the client."""
    state = _lenient_state(args)
    try:
        params = single_params(args)
        return _validated(ctx, client, redirect_uri, sent, params)
    except OAuthError as exc:
        exc.state = state
        raise


def _lenient_state(args: dict[str, list[bytes]]) -> str | None:
    """The state to echo on an error, when it is unambiguous."""
    values = args.get("state", [])
    if len(values) != 1:
        return None
    try:
        state = values[0].decode("utf-8")
    except UnicodeDecodeError:
        return None  # a mangled copy would not be the client's state anyway
    return None if "\x00" in state else state or None


def _validated(ctx: OAuthContext, client: Client, redirect_uri: str, sent: bool,
               params: dict[str, str]) -> AuthorizationRequest:
    # Left out, it means code (SPEC §3), as GitHub's, Fusio's and AnyFetch's clients send it.
    if params.get("response_type", "code") != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    scopes = parse_scope(ctx.scopes, params["scope"]) if "scope" in params else client.scopes
    if not scopes or not scopes <= client.scopes:
        raise InvalidScope(f"scope must be within this app's scopes: {format_scope(client.scopes)}")
    required = client.is_public or ctx.cfg.oauth.require_pkce == "always"
    challenge = pkce.check_challenge(params.get("code_challenge"), params.get("code_challenge_method"), required)
    force = params.get("prompt") == "consent" or params.get("approval_prompt") == "force"
    replace = params.get("replace_existing_token") == "true"
    return AuthorizationRequest(client, redirect_uri, sent, scopes, params.get("state"), challenge,
                                force, replace)


async def approve_remembered(ctx: OAuthContext, user_id: int, req: AuthorizationRequest) -> str | None:
    """When the user already allowed this client everything asked (and no prompt is
    forced), the redirect with a fresh code; else None. One write: check and code."""
    if req.force_prompt:
        return None

    async def body(tx: Transaction) -> str | None:
        if req.replace_existing:
            if not req.scopes <= await token_store.get_consent_for_code(tx, user_id, req.client.pk):
                return None
            return await _issue_code(ctx, tx, user_id, req, req.scopes)
        code = credentials.new_token()
        if not await token_store.insert_code_on_consent(
                tx, req.scopes, credentials.digest(code), req.client.pk, user_id, req.redirect_uri,
                req.redirect_uri_sent, format_scope(req.scopes), req.code_challenge,
                clock.now() + ctx.cfg.oauth.code_ttl):
            return None
        return _code_redirect(ctx, req, code)

    # The consent row, held until COMMIT, is all this needs; replacing the user's
    # grants ends many rows at once, and runs serialized.
    return await ctx.db.write(body, serialized=req.replace_existing)


async def approve(ctx: OAuthContext, user_id: int, req: AuthorizationRequest, scopes: frozenset[str]) -> str:
    """The user allowed `scopes`: remember that, issue a code, return the redirect."""
    async def body(tx: Transaction) -> str:
        known = await token_store.get_consent(tx, user_id, req.client.pk)
        await token_store.upsert_consent(tx, user_id, req.client.pk, format_scope(known | scopes), clock.now())
        return await _issue_code(ctx, tx, user_id, req, scopes)

    return await ctx.db.write(body)


async def _issue_code(ctx: OAuthContext, tx: Transaction, user_id: int, req: AuthorizationRequest,
                      scopes: frozenset[str]) -> str:
    code = credentials.new_token()
    if req.replace_existing:
        await token_store.revoke_user_grants(tx, user_id, req.client.pk, reason="replaced")
    await token_store.insert_code(tx, credentials.digest(code), req.client.pk, user_id, req.redirect_uri,
                                  req.redirect_uri_sent, format_scope(scopes), req.code_challenge,
                                  clock.now() + ctx.cfg.oauth.code_ttl)
    return _code_redirect(ctx, req, code)


def _code_redirect(ctx: OAuthContext, req: AuthorizationRequest, code: str) -> str:
    return redirect_to(req.redirect_uri, {"code": code, "state": req.state, "iss": ctx.issuer})


def error_redirect(ctx: OAuthContext, redirect_uri: str, error: OAuthError) -> str:
    return redirect_to(redirect_uri, error.redirect_params(ctx.issuer))


def redirect_to(uri: str, params: dict) -> str:
    """The redirect URI with our parameters added to any query it already has."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return uri + ("&" if urlsplit(uri).query else "?") + query


# -- the consent page's round trip ------------------------------------------------


async def save_pending(ctx: OAuthContext, session_hash: bytes, user_id: int,
                       req: AuthorizationRequest) -> str:
    """Store what the consent page shows; its POST acts on this and nothing else."""
    request_id = credentials.new_token()
    async with ctx.db.transaction() as tx:
        await token_store.insert_request(
            tx, credentials.digest(request_id), session_hash, req.client.pk, user_id, req.redirect_uri,
            req.redirect_uri_sent, format_scope(req.scopes), req.state, req.code_challenge,
            req.replace_existing, clock.now() + PENDING_TTL)
    return request_id


async def answer(ctx: OAuthContext, session_hash: bytes, request_id: str, user_id: int,
                 allow: bool, ticked: set[str]) -> str:
    """The user's decision on a stored request → the redirect to the client."""
    async with ctx.db.transaction() as tx:
        pending = await token_store.take_request(tx, credentials.digest(request_id or ""), session_hash)
    if pending is None or pending.user_id != user_id:
        raise UnsafeRedirect("this authorization request expired or was already answered; start again from the app")
    client = await client_store.get_client_by_pk(ctx.db, pending.client_pk)
    if client is None or client.status != "active":
        raise UnsafeRedirect("this app is no longer active on this instance")
    req = AuthorizationRequest(client, pending.redirect_uri, pending.redirect_uri_sent,
                               frozenset(pending.scope.split()), pending.state, pending.code_challenge,
                               True, pending.replace_existing)
    granted = req.scopes & ticked  # unticked scopes are dropped; nothing can be added
    if not allow or not granted:
        return error_redirect(ctx, req.redirect_uri, AccessDenied("the user denied the request", state=req.state))
    return await approve(ctx, user_id, req, granted)
