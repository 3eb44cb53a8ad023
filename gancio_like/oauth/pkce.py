"""Proof Key for Code Exchange, S256 only.

RFC 7636 §4.1-§4.6; RFC 9700 §2.1.1 and draft-ietf-oauth-v2-1 §4.1.1 (the `plain`
method is refused: it gives no protection once the challenge is observed).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

from .errors import InvalidRequest

# RFC 7636 §4.1/§4.2: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_UNRESERVED_43_128 = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def check_challenge(challenge: str | None, method: str | None, required: bool) -> str | None:
    """The code_challenge to store with the authorization code, or None."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method sent without code_challenge")
        if required:
            raise InvalidRequest("code_challenge required (PKCE S256)")
        return None
    # RFC 7636 §4.3 defaults a missing method to "plain", which is refused, so a
    # challenge without a method is refused too rather than silently upgraded.
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not _UNRESERVED_43_128.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~")
    return challenge


def verify(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge."""
    if not _UNRESERVED_43_128.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=")
    # Constant-time comparison, on bytes so that a non-ASCII stored value cannot raise.
    return hmac.compare_digest(computed, challenge.encode("utf-8"))
