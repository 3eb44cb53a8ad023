"""The outbox: queued activities and the worker that delivers them (SPEC §6).

An activity is queued in the same transaction as the change it announces, so the
two commit together. The worker (started by `serve()`) takes due rows, resolves
the recipient's acct to an inbox (WebFinger, then the actor; cached), signs the
POST as the local user and sends it through the guarded `net.post`.

Retries: the first within RETRY_BASE seconds, doubling up to 60 s between tries
for the first hour (SPEC §6: first retry within 10 s, at most 60 s apart for the
first hour), then a tenth of the time since the first try, at most an hour; after
GIVE_UP_AFTER (3 days) it is given up, with one log line. A 4xx answer other than
408/429 is final at once, as Mastodon treats it: sending the same again cannot help.
Deliveries to one recipient go out in order (an Undo never overtakes its Follow),
and a restart loses nothing: the rows stay until delivered or given up.

Several processes may each run a worker (PostgreSQL). A worker claims the rows it
takes in one write transaction (`SELECT … FOR UPDATE SKIP LOCKED` there), setting a
lease the others respect, so each delivery goes out once. A try is cut off after
ATTEMPT_TIMEOUT, well inside the LEASE, so a lease never runs out under a live
try; a worker that is stopped gives its claims back at once, and one that crashed
leaves leases that run out, after which another worker retries the rows.
"""
from __future__ import annotations

import asyncio
import json
import logging

from .. import clock, net
from ..leased_worker import LeasedWorker
from ..storage import federation as store
from ..storage import users as user_store
from ..storage.db import Transaction
from ..storage.federation import Delivery
from . import Federation, events_actor, keys, signatures
from .actors import ACTIVITY_JSON, ActorError, actor_for_acct, key_id
from .activities import address

log = logging.getLogger("fync.federation")

POLL_INTERVAL = 1.0        # seconds between looks at the queue when it is idle
RETRY_BASE = 5             # seconds before the first retry; then doubling …
EARLY_MAX_DELAY = 60       # … up to this, during the first hour
LATE_MAX_DELAY = 3600
GIVE_UP_AFTER = 259200     # seconds after the first try (3 days); [federation] give_up_after sets it
BATCH = 20                 # deliveries sent at once (to different recipients)
POST_TIMEOUT = 10.0
KEEP_DONE = 7 * 86400      # delivered / given-up rows are kept this long, for the admin's curiosity
KEEP_SEEN = 30 * 86400     # activity ids the inbox remembers (far beyond the 5-minute Date window)
CLEAN_EVERY = 3600
LEASE = 300                # seconds a claimed row is left to its worker
ATTEMPT_TIMEOUT = 120      # a try (resolve + POST) taking longer counts as failed; < LEASE


async def queue(tx: Transaction, user_id: int | None, recipient: str, activity: dict,
                inbox: str | None = None) -> None:
    """Queue `activity`, signed by `user_id` (None: the events actor), for the actor
    `recipient` (name@domain), at `inbox` when it is already known."""
    await store.insert_delivery(tx, user_id, recipient, inbox, json.dumps(activity), clock.now())


def retry_delay(attempts: int, age: int, base: int = RETRY_BASE) -> int:
    """Seconds to wait after the `attempts`-th failed try, `age` seconds after the first."""
    if age < 3600:
        return min(base * 2 ** (attempts - 1), EARLY_MAX_DELAY)
    return min(max(age // 10, EARLY_MAX_DELAY), LATE_MAX_DELAY)


def is_final(status: int | None) -> bool:
    """An HTTP status that no retry will change."""
    return status is not None and 400 <= status < 500 and status not in (408, 429)


class DeliveryWorker(LeasedWorker):
    """Sends due deliveries until stopped, at most BATCH at once and one per recipient;
    `run_once()` does one round (tests). The loop is leased_worker.py's."""

    log, kind = log, "delivery"

    def __init__(self, fed: Federation, poll_interval: float = POLL_INTERVAL, base_delay: int = RETRY_BASE,
                 give_up_after: int = GIVE_UP_AFTER):
        super().__init__(fed.db, poll_interval, base_delay, give_up_after)
        self.fed = fed
        self._cleaned_at = 0

    async def _round(self) -> int:
        sent = await self.run_once()
        await self._clean()
        return sent

    async def _claim_due(self, tx: Transaction, now: int) -> list[Delivery]:
        return await store.claim_due_deliveries(tx, self.db.dialect, now, BATCH, now + LEASE)

    async def _give_back(self, tx: Transaction, ids: list[int]) -> None:
        await store.release_deliveries(tx, ids)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            status = await asyncio.wait_for(self._send(delivery), ATTEMPT_TIMEOUT)
        except asyncio.TimeoutError:
            return await self._failed(delivery, f"no answer within {ATTEMPT_TIMEOUT} s", False)
        except (net.FetchError, ActorError) as exc:
            return await self._failed(delivery, str(exc), is_final(exc.status))
        except Exception as exc:  # a bug or a broken row: retried with backoff, not every second
            log.exception("delivery %d to %s failed", delivery.id, delivery.recipient)
            return await self._failed(delivery, f"internal error: {exc!r}", False)
        if 200 <= status < 300:
            return await self.db.write(lambda tx: store.update_delivery_done(tx, delivery.id, clock.now()))
        await self._failed(delivery, f"{delivery.inbox or delivery.recipient} answered HTTP {status}",
                           is_final(status))

    async def _send(self, delivery: Delivery) -> int:
        signer = await self._signer(delivery)
        inbox, activity = delivery.inbox, delivery.activity
        if inbox is None:
            inbox, activity = await self._address(delivery, signer)
        body = activity.encode()
        headers = signatures.sign_request("POST", inbox, body, signer[0], signer[1], clock.now(), signer[2])
        headers.update({"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON})
        return await net.post(inbox, body, allow_private=self.fed.allow_private, timeout=POST_TIMEOUT,
                              headers=headers)

    async def _signer(self, delivery: Delivery) -> tuple[str, str, int | str]:
        """(keyId, private PEM, key cache name) of whoever signs the delivery."""
        if delivery.user_id is None:
            return await events_actor.signer(self.fed)
        user = await user_store.get_user(self.db, delivery.user_id)
        if user is None:
            raise ActorError("the sender's account is gone", 410)
        pair = await keys.key_pair(self.db, user.id)
        return key_id(self.fed.issuer, user.username), pair.private_pem, user.id

    async def _address(self, delivery: Delivery, signer: tuple[str, str, int | str]) -> tuple[str, str]:
        """Resolve the recipient once, and keep their inbox and the completed activity on the row."""
        actor = await actor_for_acct(self.fed, delivery.recipient, signer)
        activity = json.dumps(address(json.loads(delivery.activity), actor.uri))
        await self.db.write(lambda tx: store.update_delivery_addressed(tx, delivery.id, actor.inbox, activity))
        return actor.inbox, activity

    async def _failed(self, delivery: Delivery, error: str, final: bool) -> None:
        now = clock.now()
        attempts, age = delivery.attempts + 1, now - (delivery.first_tried_at or now)
        retry_at = None
        if not final and age < self.give_up_after:
            retry_at = now + retry_delay(attempts, age, self.base_delay)
        await self.db.write(lambda tx: store.update_delivery_failed(tx, delivery.id, now, error, retry_at))
        if retry_at is None:
            log.warning("gave up delivering activity %d to %s after %d tries: %s",
                        delivery.id, delivery.recipient, attempts, error)

    async def _clean(self) -> None:
        now = clock.now()
        if now - self._cleaned_at < CLEAN_EVERY:
            return
        self._cleaned_at = now

        async def prune(tx):
            await store.delete_old_deliveries(tx, now - KEEP_DONE)
            await store.delete_old_seen(tx, now - KEEP_SEEN)
        await self.db.write(prune)
