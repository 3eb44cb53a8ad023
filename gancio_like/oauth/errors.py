"""OAuth 2.0 error responses.

RFC 6749 §4.1.2.1 (authorization error redirects) and §5.2 (token endpoint errors),
RFC 6750 §3.1 (bearer token errors), RFC 7591 §3.2.2 (registration errors),
RFC 9207 §2 (`iss` in authorization responses).
"""
from __future__ import annotations

import re

from ..errors import FyncError

# RFC 6749 §4.1.2.1/§5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
# Descriptions may quote request input, so anything else is replaced: this also keeps
# them safe inside a quoted WWW-Authenticate parameter (no '"' or '\') and a header.
_UNSAFE_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
REALM = "fync"


class OAuthError(FyncError):
    """Base of every protocol error; subclasses set `error` and `status_code`.
    What it adds to FyncError: an RFC-safe description and the redirect form."""

    def __init__(self, description: str = "", *, state: str | None = None):
        super().__init__(_UNSAFE_DESCRIPTION.sub("?", description))
        self.state = state

    def redirect_params(self, iss: str) -> dict:
        """Query parameters for an error redirect (RFC 6749 §4.1.2.1, RFC 9207 §2)."""
        params = {**self.body(), "iss": iss}
        if self.state is not None:
            params["state"] = self.state
        return params

    def bearer_challenge(self, **attributes: str) -> dict[str, str]:
        """RFC 6750 §3: the error as a Bearer challenge (the description is header-safe)."""
        params = {"error": self.error, "error_description": self.description, **attributes}
        quoted = "".join(f', {name}="{value}"' for name, value in params.items())
        return {"WWW-Authenticate": f'Bearer realm="{REALM}"{quoted}'}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: a client that tried HTTP Basic is answered with a Basic challenge."""

    error = "invalid_client"
    status_code = 401

    def __init__(self, description: str = "", *, basic: bool = False, state: str | None = None):
        super().__init__(description, state=state)
        self.basic = basic

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Basic realm="{REALM}"'} if self.basic else {}


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status_code = 403


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503


class InvalidRedirectURI(OAuthError):
    """RFC 7591 §3.2.2."""

    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2."""

    error = "invalid_client_metadata"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: expired, revoked, malformed or unknown access token."""

    error = "invalid_token"
    status_code = 401

    def headers(self) -> dict[str, str]:
        return self.bearer_challenge()


class MissingToken(InvalidToken):
    """No credentials at all: RFC 6750 §3.1 says the challenge carries no error code."""

    error = "unauthorized"

    def __init__(self):
        super().__init__("this call needs an access token: send Authorization: Bearer <token>")

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer realm="{REALM}"'}


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1; `scope` names the scope the resource needs."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, description: str = "", *, scope: str, state: str | None = None):
        super().__init__(description, state=state)
        self.scope = scope

    def headers(self) -> dict[str, str]:
        return self.bearer_challenge(scope=self.scope)


class RateLimited(OAuthError):
    """Too many requests. No RFC 6749 code exists for this, so it reuses
    `temporarily_unavailable` with status 429 and a Retry-After delay in seconds."""

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, description: str = "", *, retry_after: int = 60,
                 state: str | None = None):
        super().__init__(description, state=state)
        self.retry_after = max(1, int(retry_after))
