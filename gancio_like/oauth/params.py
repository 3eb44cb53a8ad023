"""Request parameter and Authorization header parsing.

RFC 6749 §3.1 and §3.2 (parameters without a value are omitted; parameters MUST NOT
be included more than once), RFC 6749 §3.3 (the scope parameter), RFC 6749 §2.3.1 (HTTP Basic client credentials,
form-urlencoded before base64), RFC 6750 §2.1 (the Bearer header and b64token).
"""
from __future__ import annotations

import base64
import re
from urllib.parse import unquote_plus

from ..scopes import SCOPE_TOKEN, ScopeRegistry
from .errors import InvalidClient, InvalidRequest, InvalidScope, InvalidToken

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def single_params(arguments: dict[str, list[bytes]]) -> dict[str, str]:
    """One str per parameter name from Tornado-style `{name: [bytes, ...]}`."""
    params = {}
    for name, values in arguments.items():
        # A repeated parameter is ambiguous: two components could read different
        # values (RFC 6749 §3.1, §3.2), so it is an error rather than first-wins.
        if len(values) > 1:
            raise InvalidRequest(f"parameter {name!r} was sent more than once")
        value = _decode(name, values[0]) if values else ""
        if value:  # RFC 6749 §3.1: a parameter without a value is treated as omitted
            params[name] = value
    return params


def parse_scope(registry: ScopeRegistry, value: str | None) -> frozenset[str]:
    """The scopes of a `scope` parameter, each known to `registry`; any run of spaces separates them."""
    tokens = [token for token in (value or "").split(" ") if token]
    # Malformed tokens are not echoed: the description would carry them as is.
    if not all(SCOPE_TOKEN.fullmatch(token) for token in tokens):
        raise InvalidScope("scope contains a malformed scope-token (RFC 6749 section 3.3)")
    unknown = sorted(token for token in set(tokens) if token not in registry)
    if unknown:
        raise InvalidScope(f"unknown scope: {' '.join(unknown)}")
    return frozenset(tokens)


def _decode(name: str, raw: bytes) -> str:
    # NUL is refused in names and values: it truncates strings in C libraries and
    # logs, so a value could mean different things to different layers.
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"parameter {name!r} is not valid UTF-8") from None
    if "\x00" in name or "\x00" in value:
        raise InvalidRequest(f"parameter {name!r} contains a NUL character")
    return value


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from `Authorization: Basic …`, or None if absent."""
    scheme, credentials = _split_authorization(header)
    if scheme != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        client_id, colon, secret = decoded.partition(":")
        # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined, so a
        # ':' inside either arrives as %3A; strict decoding refuses invalid UTF-8.
        client_id = unquote_plus(client_id, errors="strict")
        secret = unquote_plus(secret, errors="strict")
    except ValueError:  # binascii.Error, UnicodeDecodeError and non-ASCII input
        raise InvalidClient("malformed Basic credentials", basic=True) from None
    if not colon or not client_id or "\x00" in client_id + secret:
        raise InvalidClient("malformed Basic credentials", basic=True)
    return client_id, secret


def parse_bearer(header: str | None) -> str | None:
    """The token of `Authorization: Bearer …`, or None if absent, empty or another scheme.

    A malformed token is a wrong token (RFC 6750 §3.1 `invalid_token`, 401), whether
    it guards the API or a client registration (RFC 7592 §2)."""
    scheme, token = _split_authorization(header)
    if scheme != "bearer" or not token:
        return None
    if not _B64TOKEN.fullmatch(token):
        raise InvalidToken("the access token is malformed")
    return token


def _split_authorization(header: str | None) -> tuple[str, str]:
    # Auth schemes are case-insensitive (RFC 9110 §11.1), so "bearer" is accepted.
    scheme, _, value = (header or "").partition(" ")
    return scheme.lower(), value.strip(" ")
