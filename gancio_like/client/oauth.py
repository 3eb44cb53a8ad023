"""The authorization code flow, client side: RFC 6749 §4.1 with PKCE S256
(RFC 7636) and the authorization response's `iss` (RFC 9207).

`state` is random per login and checked on return (RFC 6749 §10.12: no CSRF into
a login the user did not start). `iss` must equal the discovered issuer: when a
client talks to several instances, a response that claims another issuer is a
mix-up attack (RFC 9207 §2.4), so it is refused before the code is used.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from .discovery import Instance
from .errors import AuthorizationError, StateMismatch, WrongIssuer


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge); 64 random bytes → 86 characters (RFC 7636 §4.1)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class AuthorizationRequest:
    """One login in progress: what to open, and what the callback must match."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str
    scope: str
    client_id: str
    instance: Instance


def authorization_request(instance: Instance, client_id: str, redirect_uri: str,
                          scope: str) -> AuthorizationRequest:
    """Build the URL to open in the person's browser."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "scope": scope, "state": state, "code_challenge": challenge,
             "code_challenge_method": "S256"}
    url = f"{instance.endpoint('authorization')}?{urlencode(query)}"
    return AuthorizationRequest(url, state, verifier, redirect_uri, scope, client_id, instance)


def parse_callback(request: AuthorizationRequest, callback_url: str) -> str:
    """The redirect back to us → the code; checks `iss`, then `state`, then `error`."""
    params = _single_params(callback_url)
    _check_issuer(request.instance, params)
    if params.get("state") != request.state:
        raise StateMismatch("the login answer's state does not match the login this app started; "
                            "start again (another login may have interfered)", "invalid_state")
    if "error" in params:
        raise _error_response(request.instance.domain, params)
    if not params.get("code"):
        raise AuthorizationError(f"{request.instance.domain} sent no authorization code; start again")
    return params["code"]


def _single_params(url: str) -> dict[str, str]:
    """Query parameters; one sent twice is refused as ambiguous (RFC 6749 §3.1)."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    twice = sorted(name for name, values in parsed.items() if len(values) > 1)
    if twice:
        raise AuthorizationError(f"the login answer repeats {', '.join(twice)}; start again")
    return {name: values[0] for name, values in parsed.items()}


def _check_issuer(instance: Instance, params: dict[str, str]) -> None:
    """RFC 9207 §2.4: compare `iss`; required when the metadata promises it."""
    promised = instance.metadata.get("authorization_response_iss_parameter_supported") is True
    if "iss" not in params and not promised:
        return
    if params.get("iss") != instance.issuer:
        raise WrongIssuer(f"the login answer comes from issuer {params.get('iss')!r}, not {instance.issuer}: "
                          "refusing it (possible mix-up attack); start again", "invalid_issuer")


def _error_response(domain: str, params: dict[str, str]) -> AuthorizationError:
    error = params["error"]
    if error == "access_denied":
        message = f"the login at {domain} was denied"
    else:
        message = f"{domain} refused the login: {error}"
    description = params.get("error_description")
    return AuthorizationError(f"{message} ({description})" if description else message, error)
