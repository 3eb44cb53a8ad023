"""`gancio_like.client`: log a person in to the Fync instance they choose, from a
terminal or any Python app (SPEC §8), then call its API.

    from gancio_like.client import App, CredentialStore, default_path

    app = App("My app", CredentialStore(default_path("my-app")))
    session = await app.login("@alice@example.org", scope="friends:read")
    friends = await session.get("/api/friends")

Layers, each usable alone: `discover()` (SPEC §5, RFC 7033, RFC 8414),
`registration` (RFC 7591/7592, metadata documents), `oauth` (RFC 6749 + PKCE +
RFC 9207), `tokens` (token endpoint, RFC 7009), `Session` (RFC 6750 calls that
renew themselves), `LoopbackReceiver` (RFC 8252 §7.3), `CredentialStore`.
"""
from .app import DEFAULT_TIMEOUT, App
from .credentials import CredentialStore, default_path
from .discovery import Instance, discover, fetch_metadata, origin_of
from .errors import (ApiError, AuthorizationError, BadTarget, ClientError, CredentialsError, HandleNotFound,
                     InsecureURL, IssuerMismatch, LoginExpired, LoginTimeout, NotAnInstance, NotLoggedIn,
                     Redirected, RegistrationError, StateMismatch, TokenError, Unreachable, WrongIssuer)
from .loopback import LoopbackReceiver
from .oauth import AuthorizationRequest, authorization_request, parse_callback, pkce_pair
from .registration import LOOPBACK_REDIRECT, ClientRegistration, register, unregister
from .session import Session
from .tokens import Tokens, exchange_code, refresh, revoke

__all__ = [
    "App", "DEFAULT_TIMEOUT", "CredentialStore", "default_path", "Instance", "discover", "fetch_metadata",
    "origin_of", "LoopbackReceiver", "AuthorizationRequest", "authorization_request", "parse_callback",
    "pkce_pair", "LOOPBACK_REDIRECT", "ClientRegistration", "register", "unregister", "Session", "Tokens",
    "exchange_code", "refresh", "revoke",
    "ClientError", "ApiError", "AuthorizationError", "BadTarget", "CredentialsError", "HandleNotFound",
    "InsecureURL", "IssuerMismatch", "LoginExpired", "LoginTimeout", "NotAnInstance", "NotLoggedIn",
    "Redirected", "RegistrationError", "StateMismatch", "TokenError", "Unreachable", "WrongIssuer",
]
