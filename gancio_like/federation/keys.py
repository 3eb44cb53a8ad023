"""Users' RSA key pairs for HTTP Signatures (SPEC §6: `publicKey`, RSA, per user).

RSA 2048 with PKCS#1 v1.5 and SHA-256, what `rsa-sha256` (and Mastodon's `hs2019`)
means. A pair is made the first time a user needs one — their actor is fetched or
they sign a delivery — not at signup: most accounts never federate, and making a
key costs tens of milliseconds of CPU, spent here in a worker thread. The private
key stays in the database: it is read only to sign, and never served or logged.
"""
from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .. import clock
from ..storage import federation as store
from ..storage.db import Database
from ..storage.federation import KeyPair

KEY_BITS = 2048
MIN_REMOTE_BITS = 2048  # a weaker remote key is refused, as Mastodon refuses < 2048
CACHED_KEYS = 256  # loaded private keys kept per process, the most recently used

# Loading a PEM private key checks the RSA key's consistency, tens of milliseconds of
# CPU: once per user per process is enough. user id → (PEM, key); the PEM is kept to
# be compared, so a key that is not the cached one (an id reused after a restore, a
# second instance in one test process, a replaced row) is loaded afresh, never mixed up.
# The instance's own actors are kept under their name ("events") instead of a user id.
_private_keys: OrderedDict[int | str, tuple[str, rsa.RSAPrivateKey]] = OrderedDict()
_private_keys_lock = threading.Lock()  # sign() may run in a worker thread


def generate_pems() -> tuple[str, str]:
    """(public PEM, private PEM) of a fresh RSA 2048 key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return public, private


async def key_pair(db: Database, user_id: int) -> KeyPair:
    """The user's key pair, made (once, whoever races) on first need."""
    found = await store.get_key_pair(db, user_id)
    if found is not None:
        return found
    public, private = await asyncio.get_running_loop().run_in_executor(None, generate_pems)

    async def keep(tx):
        await store.insert_key_pair(tx, user_id, public, private, clock.now())
        return await store.get_key_pair(tx, user_id)
    return await db.write(keep)


async def instance_key_pair(db: Database, name: str) -> KeyPair:
    """The key pair of one of the instance's own actors (the events actor), made on first need."""
    found = await store.get_instance_key_pair(db, name)
    if found is not None:
        return found
    public, private = await asyncio.get_running_loop().run_in_executor(None, generate_pems)

    async def keep(tx):
        await store.insert_instance_key_pair(tx, name, public, private, clock.now())
        return await store.get_instance_key_pair(tx, name)
    return await db.write(keep)


def private_key(private_pem: str, user_id: int | str | None = None) -> rsa.RSAPrivateKey:
    """The loaded key of `private_pem`, from the per-process cache when `user_id` names
    whose it is (one without an owner, such as a test's stranger key, is not kept)."""
    if user_id is None:
        return serialization.load_pem_private_key(private_pem.encode(), password=None)
    with _private_keys_lock:
        cached = _private_keys.get(user_id)
        if cached is not None and cached[0] == private_pem:
            _private_keys.move_to_end(user_id)
            return cached[1]
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    with _private_keys_lock:
        _private_keys[user_id] = (private_pem, key)
        _private_keys.move_to_end(user_id)
        while len(_private_keys) > CACHED_KEYS:
            _private_keys.popitem(last=False)
    return key


def sign(private_pem: str, data: bytes, user_id: int | str | None = None) -> bytes:
    """RSA-SHA256 (PKCS#1 v1.5) signature of `data`; pass `user_id` to reuse the loaded key."""
    return private_key(private_pem, user_id).sign(data, padding.PKCS1v15(), hashes.SHA256())


def load_public(pem: str) -> rsa.RSAPublicKey | None:
    """An RSA public key of at least MIN_REMOTE_BITS from PEM, or None (not RSA, too weak, garbage)."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_REMOTE_BITS:
        return None
    return key


def verify(public_pem: str, signature: bytes, data: bytes) -> bool:
    key = load_public(public_pem)
    if key is None:
        return False
    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
