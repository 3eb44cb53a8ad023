"""Random credentials and their digests (SPEC §3: ≥ 128 bits, stored as SHA-256).

These secrets carry 256 bits of entropy, so a plain SHA-256 is enough to make a
stolen database useless; a slow password hash would only slow the hot paths.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    """256 random bits, URL-safe: codes, tokens, secrets, request ids."""
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    """128 random bits as hex: never starts with '-', so it is safe on command lines."""
    return secrets.token_hex(16)


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def matches(value: str | None, stored: bytes | None) -> bool:
    """Constant-time check of a presented secret against its stored digest."""
    presented = digest(value or "")
    return hmac.compare_digest(presented, stored or b"\0" * 32) and stored is not None and value is not None
