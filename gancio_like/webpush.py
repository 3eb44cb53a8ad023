"""Web Push, the application server's side (SPEC §4 "Web Push").

- RFC 8292 (VAPID): the instance's P-256 key pair, made at first start and kept in
  data/vapid.key beside secret.key; each push carries `Authorization: vapid t=JWT,k=KEY`,
  the JWT (ES256, signed by py-vapid) naming the push service's origin (`aud`), an
  expiry within 24 hours (`exp`) and, when there is one, a contact (`sub`).
- RFC 8291: the payload encrypted for the subscription's keys (`p256dh`, `auth`) in
  one `aes128gcm` record (RFC 8188), by http-ece.
- RFC 8030: POSTed to the subscription's endpoint with a `TTL`; sending is done by the
  caller, through the guarded client (net.py), never by these libraries.

No web framework and no storage here: protocol only.
"""
from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import sign

from . import keyfiles
from .config import ConfigError

KEY_FILE = "vapid.key"
TTL = 86400                # seconds a push service may hold a push for an offline device
JWT_LIFETIME = 12 * 3600   # RFC 8292 §2: exp no more than 24 hours ahead; half leaves room for skew
RECORD_SIZE = 4096         # RFC 8291 §4: one record; push services take 4096 bytes of payload at least
MAX_PLAINTEXT = RECORD_SIZE - 16 - 1 - 86  # tag, delimiter, header (salt, rs, idlen, 65-byte key id)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def load_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The instance's VAPID private key (PKCS#8 PEM in data/vapid.key, 0600), made at first start."""
    def make() -> bytes:
        return ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = Path(data_dir) / KEY_FILE
    try:
        key = serialization.load_pem_private_key(keyfiles.read_or_create(path, make), None)
    except ValueError:
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{path} is not a P-256 private key in PEM: restore it from a backup, or delete it "
                          "to make a new one (every device must then subscribe again)")
    return key


def public_key(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as browsers take it for `applicationServerKey`: base64url of the
    uncompressed point (65 bytes), without padding."""
    return b64url(key.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str, name: str = "the value") -> bytes:
    """base64url with or without padding; anything else (standard base64's + and /,
    spaces, stray characters, an impossible length) is a ValueError naming `name`."""
    if not isinstance(text, str) or not _BASE64URL.fullmatch(text):
        raise ValueError(f"{name} is not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} is not base64url") from None


def check_p256dh(text: str) -> bytes:
    """The subscription's public key: a P-256 point, uncompressed (65 bytes, RFC 8291 §3.1)."""
    raw = b64url_decode(text, "keys.p256dh")
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("keys.p256dh must be an uncompressed P-256 point: 65 bytes, base64url")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise ValueError("keys.p256dh is not a point on the P-256 curve") from None
    return raw


def check_auth(text: str) -> bytes:
    """The subscription's authentication secret: 16 bytes (RFC 8291 §3.2)."""
    raw = b64url_decode(text, "keys.auth")
    if len(raw) != 16:
        raise ValueError("keys.auth must be 16 bytes, base64url")
    return raw


def encrypt(payload: bytes, p256dh: bytes, auth: bytes) -> bytes:
    """The body of one push: `payload` for that subscription only (RFC 8291, aes128gcm),
    with a fresh key pair and salt each time."""
    if len(payload) > MAX_PLAINTEXT:
        raise ValueError(f"a push payload holds at most {MAX_PLAINTEXT} bytes, not {len(payload)}")
    return http_ece.encrypt(payload, private_key=ec.generate_private_key(ec.SECP256R1()), dh=p256dh,
                            auth_secret=auth, version="aes128gcm", rs=RECORD_SIZE)


def origin(endpoint: str) -> str:
    """scheme://host[:port] of the endpoint: the JWT's audience (RFC 8292 §2)."""
    parts = urlsplit(endpoint)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{parts.scheme}://{parts.hostname}{port}"


def authorization(key: ec.EllipticCurvePrivateKey, endpoint: str, subject: str, now: int) -> str:
    """The `Authorization` header value for a push to `endpoint` (RFC 8292 §3)."""
    claims = {"aud": origin(endpoint), "exp": now + JWT_LIFETIME}
    if subject:
        claims["sub"] = subject
    return f"vapid t={sign(claims, key)},k={public_key(key)}"


def headers(key: ec.EllipticCurvePrivateKey, endpoint: str, subject: str, now: int) -> dict[str, str]:
    """What a push request carries besides its body (RFC 8030 §5, RFC 8188 §2, RFC 8292 §3)."""
    return {"Authorization": authorization(key, endpoint, subject, now), "TTL": str(TTL),
            "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
            "Urgency": "normal"}


def subject_for(contact: str, issuer: str) -> str:
    """The VAPID `sub`: the configured contact; else the instance's own address when it is
    https (an https URI is a valid contact); else none — RFC 8292 §2.1 makes it optional,
    and an http instance is a local one with no public contact to give."""
    if contact:
        return contact
    return issuer if issuer.startswith("https://") else ""
