"""Open client registration: Gancio's `POST /api/client`, RFC 7591 dynamic
registration, and RFC 7592 management with the registration access token.

Any app may register on any instance without asking anyone (`registration =
"open"`); `"approval"` parks new clients until an admin approves them, and
`"closed"` refuses anonymous registration (the developer portal still works).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from .. import clock
from ..models import Client
from ..scopes import format_scope
from ..storage import clients as client_store
from . import credentials
from .context import OAuthContext
from .errors import AccessDenied, InvalidClientMetadata, InvalidScope, InvalidToken
from .params import parse_bearer, parse_scope
from .redirect_uris import validate_redirect_uris

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
GRANT_TYPES = {"authorization_code", "refresh_token"}
MAX_NAME, MAX_TEXT = 100, 2000


class RegistrationClosed(AccessDenied):
    """Open registration is switched off on this instance."""


# The consent page shows client_name and client_uri to a person deciding whom to
# trust (RFC 9700 §4.15): control characters (NUL truncates in C code and logs) and
# bidirectional overrides (which make "evil.tld" read as "dlt.live") are refused.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def check_name(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidClientMetadata("client_name is required")
    if len(value.strip()) > MAX_NAME:
        raise InvalidClientMetadata(f"client_name: at most {MAX_NAME} characters")
    if _UNSHOWABLE.search(value):
        raise InvalidClientMetadata("client_name must not contain control or bidirectional-override characters")
    return value.strip()


def check_website(value) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT or _UNSHOWABLE.search(value) or not _is_http_url(value):
        raise InvalidClientMetadata("website/client_uri must be an http(s) URL")
    return value


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[" is no URL at all (urlsplit raises for a broken IPv6 host)
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_scopes(ctx: OAuthContext, value, default: str) -> frozenset[str]:
    if value is None or value == "":
        value = default
    if not isinstance(value, str):
        raise InvalidClientMetadata("scope must be a space-separated string")
    try:
        scopes = parse_scope(ctx.scopes, value)
    except InvalidScope as exc:
        raise InvalidClientMetadata(exc.description) from None
    if not scopes:
        raise InvalidClientMetadata("at least one scope is required")
    return scopes


async def create(ctx: OAuthContext, *, name: str, redirect_uris: list[str], scopes: frozenset[str],
                 website: str = "", description: str = "", auth_method: str = "client_secret_post",
                 source: str, owner_id: int | None = None, ip: str | None = None,
                 trusted: bool = False) -> tuple[Client, str | None, str | None]:
    """A new client → (client, secret or None, registration access token or None)."""
    mode = ctx.cfg.oauth.registration
    if mode == "closed" and source != "portal":
        raise RegistrationClosed("client registration is closed on this instance; use the developer portal")
    secret = None if auth_method == "none" else credentials.new_token()
    reg_token = credentials.new_token() if source == "rfc7591" else None
    status = "pending" if mode == "approval" and not trusted else "active"
    async with ctx.db.transaction() as tx:
        pk = await client_store.insert_client(
            tx, client_id=credentials.new_client_id(),
            secret_hash=credentials.digest(secret) if secret else None,
            registration_token_hash=credentials.digest(reg_token) if reg_token else None,
            name=name, description=description, website=website, redirect_uris=redirect_uris,
            scopes=format_scope(scopes), auth_method=auth_method, source=source, status=status,
            owner_id=owner_id, registered_ip=ip, now=clock.now())
        client = await client_store.get_client_by_pk(tx, pk)
    return client, secret, reg_token


# -- Gancio: POST /api/client ---------------------------------------------------------


async def register_gancio(ctx: OAuthContext, data: dict, ip: str | None) -> dict:
    name = check_name(data.get("client_name"))
    uris = validate_redirect_uris(data.get("redirect_uris"))
    scopes = check_scopes(ctx, data.get("scopes"), "event:write")
    website = check_website(data.get("website"))
    client, secret, _ = await create(ctx, name=name, redirect_uris=uris, scopes=scopes, website=website,
                                     source="gancio", ip=ip)
    return {"client_id": client.client_id, "client_secret": secret, "name": client.name,
            "scopes": format_scope(client.scopes), "website": client.website,
            "redirect_uris": " ".join(client.redirect_uris)}


# -- RFC 7591 / RFC 7592 ------------------------------------------------------------------


def _metadata(ctx: OAuthContext, data: dict, current: Client | None = None) -> dict:
    """Checked RFC 7591 §2 client metadata."""
    if not isinstance(data, dict):
        raise InvalidClientMetadata("the body must be a JSON object")
    method = data.get("token_endpoint_auth_method", current.auth_method if current else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    if current is not None and method != current.auth_method:
        raise InvalidClientMetadata("token_endpoint_auth_method cannot change; register a new client")
    _check_list(data, "grant_types", GRANT_TYPES)
    _check_list(data, "response_types", {"code"})
    if "redirect_uris" in data and not isinstance(data["redirect_uris"], list):
        raise InvalidClientMetadata("redirect_uris must be an array")
    return {"redirect_uris": validate_redirect_uris(data.get("redirect_uris")),
            "name": check_name(data.get("client_name", "Unnamed app")),
            "website": check_website(data.get("client_uri")),
            "scopes": check_scopes(ctx, data.get("scope"), "profile"),
            "auth_method": method}


def _check_list(data: dict, key: str, allowed: set[str]) -> None:
    value = data.get(key)
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not set(value) <= allowed:
        raise InvalidClientMetadata(f"{key} must be an array within {', '.join(sorted(allowed))}")


def client_document(ctx: OAuthContext, client: Client) -> dict:
    """RFC 7591 §3.2.1 / RFC 7592 §3 view of a client (secrets are never stored to echo)."""
    grant_types = ["authorization_code", "refresh_token"]
    doc = {"client_id": client.client_id, "client_id_issued_at": client.created_at,
           "client_secret_expires_at": 0, "client_name": client.name,
           "redirect_uris": list(client.redirect_uris),
           "scope": format_scope(client.scopes), "token_endpoint_auth_method": client.auth_method,
           "grant_types": grant_types, "response_types": ["code"],
           "registration_client_uri": f"{ctx.issuer}/oauth/register/{client.client_id}"}
    if client.website:  # RFC 7591 §2: client_uri is a URL string; unregistered means absent, not null
        doc["client_uri"] = client.website
    return doc


async def register_rfc7591(ctx: OAuthContext, data: dict, ip: str | None) -> dict:
    meta = _metadata(ctx, data)
    client, secret, reg_token = await create(ctx, source="rfc7591", ip=ip, **meta)
    body = client_document(ctx, client)
    body["registration_access_token"] = reg_token
    if secret:
        body["client_secret"] = secret
    return body


async def managed_client(ctx: OAuthContext, client_id: str, authorization: str | None) -> Client:
    """RFC 7592 §2: the client, if the registration access token is its own."""
    token = parse_bearer(authorization)
    client = await client_store.get_client(ctx.db, client_id)
    stored = client.registration_token_hash if client else None
    if not credentials.matches(token, stored) or client is None:
        raise InvalidToken("registration access token is missing or wrong")
    return client


async def update_rfc7592(ctx: OAuthContext, client: Client, data: dict) -> dict:
    if isinstance(data, dict) and data.get("client_id", client.client_id) != client.client_id:
        raise InvalidClientMetadata("client_id cannot change")
    meta = _metadata(ctx, data, client)
    async with ctx.db.transaction() as tx:
        await client_store.update_client(tx, client.pk, name=meta["name"], description=client.description,
                                         website=meta["website"], redirect_uris=meta["redirect_uris"],
                                         scopes=format_scope(meta["scopes"]))
        client = await client_store.get_client_by_pk(tx, client.pk)
    return client_document(ctx, client)


async def delete(ctx: OAuthContext, client: Client) -> None:
    """Remove a client; its grants, tokens and codes go with it (ON DELETE CASCADE)."""
    async with ctx.db.transaction() as tx:
        await client_store.delete_client(tx, client.pk)
