"""Web Push subscriptions (SPEC §4): the devices an app subscribed for its person.

A subscription belongs to the grant (the app's authorization) whose token made it:
the app sees and removes only its own; the person sees and removes all of theirs on
/settings; it ends with the grant (migrations/0011_push.sql).

An endpoint is a URL chosen by whoever holds the token, that this server will POST to
later, so it is checked as federation's URLs are (SECURITY-CHECKLIST 61): https only,
and every address its host resolves to must be public (unless
`[federation] allow_private_addresses`, for tests on loopback). The check runs again,
with the address pinned, at each delivery (net.py).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from .. import clock, net, webpush
from ..errors import Conflict, NotFound, ValidationError
from ..models import AccessGrant, PushSubscription
from ..storage import push as store
from ..storage.db import Database

MAX_ENDPOINT = 2000   # characters; browsers' endpoints are a few hundred
MAX_PER_GRANT = 10    # devices one app may subscribe for one person
RESOLVE_TIMEOUT = 5.0


async def check_endpoint(endpoint: str, allow_private: bool) -> None:
    """A 400 naming the problem unless the endpoint is https and reaches a public address."""
    if len(endpoint) > MAX_ENDPOINT:
        raise ValidationError(f"endpoint must be at most {MAX_ENDPOINT} characters", "endpoint")
    try:
        parts = urlsplit(endpoint)
    except ValueError:
        raise ValidationError("endpoint is not a URL", "endpoint") from None
    if parts.scheme != "https":
        raise ValidationError("endpoint must be an https URL", "endpoint")
    if parts.fragment or "#" in endpoint:
        raise ValidationError("endpoint must not have a fragment", "endpoint")
    try:
        await net.check_destination(endpoint, allow_private=allow_private, timeout=RESOLVE_TIMEOUT)
    except net.FetchError as exc:
        raise ValidationError(f"endpoint refused: {exc}", "endpoint") from None


def check_keys(keys: dict) -> tuple[str, str]:
    """(p256dh, auth) once each is the right kind of key; a 400 naming the one at fault."""
    for name, check in (("p256dh", webpush.check_p256dh), ("auth", webpush.check_auth)):
        try:
            check(keys[name])
        except ValueError as exc:
            raise ValidationError(str(exc), f"keys.{name}") from None
    return keys["p256dh"].rstrip("="), keys["auth"].rstrip("=")


async def subscribe(db: Database, grant: AccessGrant, endpoint: str, keys: dict,
                    allow_private: bool) -> PushSubscription:
    """Subscribe a device for the token's grant. The same endpoint again (a browser
    renewing its keys) updates that subscription: one device, one subscription per app."""
    p256dh, auth = check_keys(keys)
    await check_endpoint(endpoint, allow_private)
    async with db.transaction() as tx:
        known = {s.endpoint for s in await store.list_grant_subscriptions(tx, grant.grant_id)}
        if len(known) >= MAX_PER_GRANT and endpoint not in known:
            raise Conflict(f"this app already has {MAX_PER_GRANT} devices subscribed; remove one first")
        subscription_id = await store.upsert_subscription(tx, grant.grant_id, grant.user_id, endpoint,
                                                          p256dh, auth, clock.now())
        return await store.get_subscription(tx, subscription_id)


async def list_for_grant(db: Database, grant: AccessGrant) -> list[PushSubscription]:
    return await store.list_grant_subscriptions(db, grant.grant_id)


async def unsubscribe(db: Database, grant: AccessGrant, subscription_id: int) -> None:
    """An app removes one of its own subscriptions; another's is as missing as none."""
    async with db.transaction() as tx:
        if not await store.delete_subscription(tx, subscription_id, grant_id=grant.grant_id):
            raise NotFound("push subscription")


async def devices(db: Database, user_id: int) -> list[PushSubscription]:
    """Every subscription of the person's apps, for their settings page."""
    return await store.list_user_subscriptions(db, user_id)


async def device(db: Database, user_id: int, subscription_id: int) -> PushSubscription:
    found = await store.get_subscription(db, subscription_id)
    if found is None or found.user_id != user_id:
        raise NotFound("device")
    return found


async def remove_device(db: Database, user_id: int, subscription_id: int) -> None:
    """The person removes a device (any app's): it gets no more pushes."""
    async with db.transaction() as tx:
        if not await store.delete_subscription(tx, subscription_id, user_id=user_id):
            raise NotFound("device")


def origin(subscription: PushSubscription) -> str:
    """The push service's host: what pages and logs show of an endpoint, whose path is
    the device's address and stays private."""
    return urlsplit(subscription.endpoint).hostname or "?"
