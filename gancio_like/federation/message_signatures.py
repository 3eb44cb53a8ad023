"""RFC 9421 HTTP Message Signatures on the inbox (SPEC §6), with the
http-message-signatures library; draft-cavage (signatures.py) stays beside it, and
stays what Fync sends.

Fedify-based servers knock with RFC 9421 first: `Signature-Input` names what is
covered and the key (`keyid`), `Signature` holds the bytes. Accepted only:
- `rsa-v1_5-sha256` (RFC 9421 §3.3.1), the one algorithm fediverse RSA keys sign with;
- a signature covering `@method`, `@target-uri` and `content-digest`, whose
  `Content-Digest` (RFC 9530, sha-256 or sha-512) matches the body: the method, the
  URL it was meant for and the body cannot be changed or replayed elsewhere;
- `created` present and within WINDOW of now, either way — the window draft-cavage's
  `Date` gets — and an `expires`, if any, not past.

`@target-uri` is checked against this instance's public URL and the request's path,
so a signature for another inbox (or another instance) does not pass. Which key and
whose it is: inbox.py, exactly as for draft-cavage.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import http_sf
from http_message_signatures import (ContentDigest, HTTPMessageVerifier, HTTPSignatureKeyResolver,
                                     InvalidSignature, algorithms)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from . import keys
from .signatures import MAX_SIGNATURE_HEADER, WINDOW, SignatureError

ALGORITHM = algorithms.RSA_V1_5_SHA256
REQUIRED = ("@method", "@target-uri", "content-digest")


def present(headers: Mapping[str, str]) -> bool:
    """Whether the request is signed the RFC 9421 way (it then must verify that way)."""
    return "Signature-Input" in headers


@dataclass(frozen=True)
class MessageSignature:
    """A well-formed RFC 9421 signature of a request, to be verified against its key."""
    key_id: str
    request: "_Request"
    body: bytes

    def verifies(self, public_pem: str) -> bool:
        key = keys.load_public(public_pem)
        if key is None:
            return False
        verifier = _Verifier(signature_algorithm=ALGORITHM, key_resolver=_OneKey(self.key_id, key))
        try:
            verifier.verify(self.request, max_age=None, require_components=REQUIRED, body=self.body)
        except (InvalidSignature, HTTPMessageSignaturesException):
            return False
        return True


def check_request(method: str, url: str, headers, body: bytes, now: float) -> MessageSignature:
    """Everything about the signature that needs no key; raises SignatureError."""
    params = _params(headers)
    for name in REQUIRED:
        if name not in params["covered"]:
            raise SignatureError(f"an RFC 9421 signature must cover {', '.join(REQUIRED)}; this one does "
                                 f"not cover {name}")
    if params.get("alg", ALGORITHM.algorithm_id) != ALGORITHM.algorithm_id:
        raise SignatureError(f"algorithm {params['alg']} is not accepted: sign with rsa-v1_5-sha256")
    created = params.get("created")
    if type(created) is not int or abs(created - now) > WINDOW:
        raise SignatureError(f"the signature's created time must be within {WINDOW // 60} minutes of now")
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("the signature names no keyid")
    _check_digest(headers, body)
    request = _Request(method.upper(), url, _FieldLines(headers))
    return MessageSignature(key_id, request, body)


def _check_digest(headers, body: bytes) -> None:
    """RFC 9530: the Content-Digest must be of exactly this body — checked before any key
    is fetched, so a mangled body costs the sender, not us, a round trip."""
    value = ", ".join(_lines(headers, "Content-Digest"))
    if not value:
        raise SignatureError("an RFC 9421 signed POST needs a Content-Digest header (RFC 9530)")
    try:
        ContentDigest.verify(value, body)
    except (InvalidSignature, HTTPMessageSignaturesException):
        raise SignatureError("the Content-Digest header does not match the body") from None


def _params(headers) -> dict:
    """The one signature's covered components and parameters, from Signature-Input."""
    value = ", ".join(_lines(headers, "Signature-Input"))
    if len(value) > MAX_SIGNATURE_HEADER:
        raise SignatureError("the Signature-Input header is too long")
    try:
        parsed = http_sf.parse(value.encode(), tltype="dictionary")
    except (ValueError, TypeError):
        raise SignatureError("the Signature-Input header is malformed (RFC 9421 §4.1)") from None
    if len(parsed) != 1:
        raise SignatureError("send one RFC 9421 signature, not several")
    [(members, params)] = parsed.values()
    if not isinstance(members, list):
        raise SignatureError("the Signature-Input header is malformed (RFC 9421 §4.1)")
    return {**params, "covered": [m[0] for m in members if not m[1]]}


def _lines(headers, name: str) -> list[str]:
    get_list = getattr(headers, "get_list", None)
    if get_list is not None:
        return get_list(name)
    return [v for k, v in headers.items() if k.lower() == name.lower()]


class _FieldLines:
    """A request's header fields as the library reads them: every line, in order."""

    def __init__(self, headers):
        self._headers = headers

    def items(self):
        get_all = getattr(self._headers, "get_all", None)
        return list(get_all() if get_all is not None else self._headers.items())

    def __iter__(self):
        return iter(dict.fromkeys(name for name, _ in self.items()))

    def __contains__(self, name) -> bool:
        return any(field.lower() == str(name).lower() for field, _ in self.items())


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    headers: _FieldLines


class _OneKey(HTTPSignatureKeyResolver):
    """The key inbox.py fetched (or had cached) for the signature's keyid, and no other."""

    def __init__(self, key_id: str, key):
        self.key_id, self.key = key_id, key

    def resolve_public_key(self, key_id: str):
        return self.key if key_id == self.key_id else None

    def resolve_private_key(self, key_id: str):
        raise HTTPMessageSignaturesException("Fync verifies RFC 9421 signatures; it signs with draft-cavage")


class _Verifier(HTTPMessageVerifier):
    """`created` is checked by check_request against Fync's clock; the library checks it
    again with the same window on the wall clock, and `expires` too."""
    max_clock_skew = datetime.timedelta(seconds=WINDOW)
