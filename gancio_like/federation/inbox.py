"""Inbox POSTs (`/users/NAME/inbox`, shared `/inbox`; ActivityPub §7, SPEC §6):
who sent this, proven by an HTTP Signature, and what they sent.

A request carrying `Signature-Input` is checked as RFC 9421 (message_signatures.py),
any other as draft-cavage (signatures.py). After those key-free checks (what is
covered, the body's digest, the time, the algorithm), the key: the activity's `actor`
must be on the keyId's host; the key comes from the database or else from the keyId
URL (through actors.py and its origin checks); a signature that fails against a cached key is tried once more
against a freshly fetched one (the actor may have rotated its key); and the key's
owner must be the activity's `actor` (SECURITY-CHECKLIST 57-60). Any failure is
a SignatureError (401) and nothing is applied.
"""
from __future__ import annotations

from collections.abc import Mapping

from .. import clock
from ..errors import FyncError, ValidationError
from ..jsonstrict import parse_object
from ..storage.federation import RemoteActor
from . import Federation, host_of, message_signatures, signatures
from .actors import ActorError, actor_for_key
from .signatures import SignatureError

MAX_BODY = 256 * 1024
REFETCH_AFTER = 60  # seconds: a key fetched more recently is not fetched again on a bad signature


class PayloadTooLarge(FyncError):
    status_code = 413
    error = "payload_too_large"


async def verify(fed: Federation, method: str, target: str, headers: Mapping[str, str],
                 body: bytes) -> tuple[RemoteActor, dict]:
    """The sender (its signature checked) and the activity they sent; raises SignatureError."""
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(f"an activity may be at most {MAX_BODY} bytes")
    signature = _signature(fed, method, target, headers, body)
    activity = _activity(body)
    actor_id = activity.get("actor")
    actor_id = actor_id.get("id") if isinstance(actor_id, dict) else actor_id
    if not isinstance(actor_id, str) or host_of(actor_id) != host_of(signature.key_id):
        raise SignatureError("the activity's actor is not on the host of the signing key")
    if host_of(actor_id) == fed.domain.lower():
        raise SignatureError("activities from this instance's own actors do not come by its inbox")
    actor = await _verified_key(fed, signature)
    if actor.uri != actor_id:
        raise SignatureError("the signing key belongs to someone other than the activity's actor")
    return actor, activity


def _signature(fed: Federation, method: str, target: str, headers: Mapping[str, str], body: bytes):
    """The request's signature, RFC 9421 or draft-cavage, checked as far as it can be without its key.
    RFC 9421's `@target-uri` is the URL the sender meant: this instance's public URL and the path."""
    if message_signatures.present(headers):
        return message_signatures.check_request(method, fed.issuer + target, headers, body, clock.now())
    return signatures.check_request(method, target, headers, body, clock.now())


def _activity(body: bytes) -> dict:
    try:
        return parse_object(body)
    except ValueError as exc:
        raise ValidationError(f"the body is not acceptable JSON: {exc}") from None


async def _verified_key(fed: Federation, signature) -> RemoteActor:
    """The actor whose key verifies the signature (one refetch if a cached key fails)."""
    try:
        actor = await actor_for_key(fed, signature.key_id)
        if signature.verifies(actor.public_pem):
            return actor
        if actor.fetched_at > clock.now() - REFETCH_AFTER:
            raise SignatureError("the signature does not verify")
        actor = await actor_for_key(fed, signature.key_id, refresh=True)
    except ActorError as exc:
        raise SignatureError(f"cannot get the signing key: {exc}") from None
    if not signature.verifies(actor.public_pem):
        raise SignatureError("the signature does not verify")
    return actor
