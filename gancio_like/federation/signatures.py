"""HTTP Signatures as the fediverse uses them (draft-cavage-http-signatures-12, the
profile Mastodon implements in app/lib/signed_request.rb; SPEC §6).

Outgoing: POSTs are signed with `rsa-sha256` over `(request-target) host date
digest` (`Digest: SHA-256=<base64>` of the body), GETs over `(request-target) host date`.

Incoming (SECURITY-CHECKLIST 57-59): a `Signature` header is required; it must
cover `(request-target)`, `host`, `date` and `digest` (without `digest` a captured
signature could carry any body); the `Digest` must match the body; `Date` must be
within five minutes of now, past or future; the algorithm must be `rsa-sha256` or
`hs2019` (which Mastodon verifies as RSA-SHA256). `hmac-*` is refused: a shared
secret cannot identify a remote actor. Which key and whose it is: federation/inbox.py.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

from ..errors import Unauthorized
from . import keys

ALGORITHMS = ("rsa-sha256", "hs2019")
REQUIRED = ("(request-target)", "host", "date", "digest")
WINDOW = 300  # seconds a Date may be off, either way (SPEC §6: within 5 minutes)
MAX_SIGNATURE_HEADER = 8192
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([0-9]+))\s*(?:,|$)')


class SignatureError(Unauthorized):
    """The request's HTTP Signature is missing, malformed, too weak or wrong: 401,
    with a challenge naming what a signature must cover."""

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Signature realm="fync",headers="{" ".join(REQUIRED)}"'}


@dataclass(frozen=True)
class Signature:
    """A parsed, well-formed incoming signature, still to be verified against its key."""
    key_id: str
    signed: bytes          # the signing string
    signature: bytes

    def verifies(self, public_pem: str) -> bool:
        return keys.verify(public_pem, self.signature, self.signed)


def body_digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def sign_request(method: str, url: str, body: bytes | None, key_id: str, private_pem: str,
                 now: float, user_id: int | None = None) -> dict[str, str]:
    """The headers that sign a request: Host, Date, Digest (with a body) and Signature.
    `user_id`, the key's owner, lets keys.sign reuse the key it loaded before."""
    parts = urlsplit(url)
    headers = {"Host": parts.netloc, "Date": formatdate(now, usegmt=True)}
    names = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = body_digest(body)
        names.append("digest")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lowered = {k.lower(): v for k, v in headers.items()}
    signed = signing_string(names, method, target, lambda name: lowered.get(name), {})
    value = base64.b64encode(keys.sign(private_pem, signed, user_id)).decode()
    headers["Signature"] = (f'keyId="{key_id}",algorithm="rsa-sha256",'
                            f'headers="{" ".join(names)}",signature="{value}"')
    return headers


def signing_string(names: list[str], method: str, target: str, header, params: Mapping[str, str]) -> bytes:
    """draft-cavage §2.3: one `name: value` line per covered header, in the order given."""
    lines = []
    for name in names:
        if name == "(request-target)":
            value = f"{method.lower()} {target}"
        elif name in ("(created)", "(expires)"):
            value = params.get(name[1:-1])
        else:
            value = header(name)
        if value is None:
            raise SignatureError(f"the signature covers {name}, which the request does not have")
        lines.append(f"{name}: {value}")
    return "\n".join(lines).encode()


def parse_header(value: str | None) -> dict[str, str]:
    """`keyId="…",algorithm="…",headers="…",signature="…"` → its parameters."""
    if not value:
        raise SignatureError("this inbox accepts only requests with an HTTP Signature (draft-cavage)")
    if len(value) > MAX_SIGNATURE_HEADER:
        raise SignatureError("the Signature header is too long")
    params, pos = {}, 0
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None or match.end() == pos:
            raise SignatureError("the Signature header is malformed")
        params[match.group(1)] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
    for name in ("keyId", "signature"):
        if not params.get(name):
            raise SignatureError(f"the Signature header has no {name}")
    return params


def check_request(method: str, target: str, headers: Mapping[str, str], body: bytes, now: float) -> Signature:
    """Everything about an inbox POST's signature that needs no key; raises SignatureError."""
    params = parse_header(headers.get("Signature"))
    algorithm = params.get("algorithm", "rsa-sha256").lower()
    if algorithm not in ALGORITHMS:
        raise SignatureError(f"algorithm {algorithm} is not accepted: sign with rsa-sha256")
    names = params.get("headers", "date").lower().split()
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise SignatureError(f"the signature must cover {' '.join(REQUIRED)}; it does not cover "
                             f"{' '.join(missing)}")
    check_date(headers.get("Date"), now)
    check_created(params, now)
    check_digest(headers.get("Digest"), body)
    signed = signing_string(names, method, target, headers.get, params)
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is not base64") from None
    return Signature(params["keyId"], signed, signature)


def check_date(value: str | None, now: float) -> None:
    try:
        moment = parsedate_to_datetime(value or "")
    except (TypeError, ValueError, IndexError):
        raise SignatureError("the Date header is missing or not an HTTP date") from None
    if moment.tzinfo is None or abs(moment.timestamp() - now) > WINDOW:
        raise SignatureError(f"the Date header is more than {WINDOW // 60} minutes away from now")


def check_created(params: Mapping[str, str], now: float) -> None:
    """hs2019's optional `created`/`expires` parameters, when sent, must hold too."""
    created, expires = params.get("created"), params.get("expires")
    if created is not None and (not created.isdigit() or int(created) > now + WINDOW):
        raise SignatureError("the signature was created in the future")
    if expires is not None and (not expires.isdigit() or int(expires) < now - WINDOW):
        raise SignatureError("the signature has expired")


def check_digest(value: str | None, body: bytes) -> None:
    """The `Digest` header must carry a SHA-256 of exactly this body (RFC 3230)."""
    expected = body_digest(body).partition("=")[2]
    for part in (value or "").split(","):
        algorithm, _, encoded = part.strip().partition("=")
        if algorithm.lower() == "sha-256":
            if hmac.compare_digest(encoded.strip().encode(), expected.encode()):
                return
            raise SignatureError("the Digest header does not match the body")
    raise SignatureError("a SHA-256 Digest header is required")
