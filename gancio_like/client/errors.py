"""The client library's errors. Each message says what went wrong and what to do,
so a command line can print it as it is. No internal imports."""
from __future__ import annotations


class ClientError(Exception):
    """Anything that stops a discovery, a login or an API call."""


class BadTarget(ClientError):
    """What was typed is neither a domain, an https URL nor a handle."""


class InsecureURL(ClientError):
    """Plain http to a host that is not loopback: refused before any connection."""


class Unreachable(ClientError):
    """No answer: DNS, connection, TLS or timeout."""


class Redirected(ClientError):
    """A redirect, which this library never follows (it could downgrade to http)."""


class NotAnInstance(ClientError):
    """The host answers, but not like a Fync (RFC 8414) instance."""


class HandleNotFound(ClientError):
    """WebFinger knows no such account."""


class IssuerMismatch(ClientError):
    """The metadata names another issuer than the instance it came from (RFC 8414 §3.3)."""


class RegistrationError(ClientError):
    """The instance refused to register this app (RFC 7591 §3.2.2)."""


class AuthorizationError(ClientError):
    """The authorization response is an error, or cannot be trusted."""

    def __init__(self, message: str, error: str = "invalid_response"):
        super().__init__(message)
        self.error = error


class StateMismatch(AuthorizationError):
    """The callback's `state` is not the one this login sent (RFC 6749 §10.12)."""


class WrongIssuer(AuthorizationError):
    """The callback's `iss` is not the discovered issuer (RFC 9207 §2.4): a mix-up attack."""


class LoginTimeout(ClientError):
    """The browser never came back to the loopback listener."""


class TokenError(ClientError):
    """The token or revocation endpoint refused (RFC 6749 §5.2)."""

    def __init__(self, message: str, error: str = ""):
        super().__init__(message)
        self.error = error


class LoginExpired(TokenError):
    """The refresh token no longer works: the user must log in again."""


class NotLoggedIn(ClientError):
    """No stored credentials for that instance."""


class CredentialsError(ClientError):
    """The credentials file cannot be read or written."""


class ApiError(ClientError):
    """An API call answered an error (SPEC §4 `{"error", "error_description"}`)."""

    def __init__(self, message: str, status: int, error: str = ""):
        super().__init__(message)
        self.status, self.error = status, error
