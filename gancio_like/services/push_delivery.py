"""Sending queued pushes (SPEC §4 Web Push): the same kind of worker as federation's
delivery (federation/delivery.py), for the rows the database queues with each
notification (migrations/0011_push.sql).

Each push is encrypted for its subscription (RFC 8291), signed with the instance's
VAPID key (RFC 8292) and POSTed through the guarded client (net.py: https, public
addresses only unless allowed, no redirects, size and time limits). Answers:

- 2xx: delivered; the row goes, the device's "last delivery" moves;
- 404 or 410: the subscription is gone at the push service: it is deleted here too;
- 413 or 400 (and other 4xx but 408 and 429): logged and dropped, a retry would fail alike;
- 408, 429, 5xx, no answer: retried with federation's backoff (first within 5 s, then
  doubling up to a minute) until the push is TTL old (a day): then given up, logged.

A push whose grant can no longer act (app disabled, tokens expired) deletes its
subscription. Workers in several processes claim rows with a lease, so each push goes
out once; a stopped worker gives its claims back, a crashed one's leases run out.
Logs name a subscription by id and its push service's host, never the endpoint's path.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from .. import clock, net, webpush
from ..federation.delivery import retry_delay
from ..config import Config
from ..storage import notifications as notification_store
from ..storage import push as store
from ..storage import users as user_store
from ..storage.db import Database
from ..storage.push import PushJob
from . import notification_texts as texts
from ..notification_types import NotificationTypes
from .push import origin

log = logging.getLogger("fync.push")

POLL_INTERVAL = 0.25   # seconds between looks at the queue when idle (a read of one index entry)
RETRY_BASE = 5
GIVE_UP_AFTER = webpush.TTL
BATCH = 20
POST_TIMEOUT = 10.0
LEASE = 300
ATTEMPT_TIMEOUT = 60   # < LEASE: a lease never runs out under a live try
MAX_ANSWER = 4096      # push services answer with a short body, if any


@dataclass(frozen=True)
class Sender:
    """What sending needs: the VAPID key, the contact, the config, the types in words."""
    key: ec.EllipticCurvePrivateKey
    subject: str
    cfg: Config
    types: NotificationTypes


class Push:
    """Web Push for the instance: its public key and the delivery worker (started by
    `serve()`, or by a test)."""

    def __init__(self, db: Database, sender: Sender):
        self.db, self.sender = db, sender
        self.worker: PushWorker | None = None

    @property
    def public_key(self) -> str:
        return webpush.public_key(self.sender.key)

    def start(self, **options) -> None:
        if self.worker is None:
            self.worker = PushWorker(self.db, self.sender, **options)
            self.worker.start()

    async def stop(self) -> None:
        """Stop sending; what was not sent stays queued for the next start."""
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None


class PushWorker:
    """Sends due pushes until stopped; `run_once()` does one round (tests)."""

    def __init__(self, db: Database, sender: Sender, poll_interval: float = POLL_INTERVAL,
                 base_delay: int = RETRY_BASE, give_up_after: int = GIVE_UP_AFTER):
        self.db, self.sender = db, sender
        self.poll_interval, self.base_delay, self.give_up_after = poll_interval, base_delay, give_up_after
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.run_once() if await store.any_due(self.db, clock.now()) else 0
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive any one bad round (disk full, a bug)
                log.exception("push round failed")
                sent = 0
            await asyncio.sleep(0 if sent else self.poll_interval)

    async def run_once(self) -> int:
        """Claim and try every due push (at most BATCH); how many were tried."""
        jobs = await self._claim()
        unfinished = {job.id for job in jobs}

        async def attempt(job: PushJob) -> None:
            await self._attempt(job)
            unfinished.discard(job.id)
        try:
            outcomes = await asyncio.gather(*(attempt(j) for j in jobs), return_exceptions=True)
        except asyncio.CancelledError:  # stop(): give back what was cut off, due again now
            if unfinished:
                await self._release(sorted(unfinished))
            raise
        if unfinished:
            await self._release(sorted(unfinished))
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return len(jobs)

    async def _claim(self) -> list[PushJob]:
        """Claim due rows; stopped meanwhile, the claim still commits: its rows are given back."""
        now = clock.now()
        claiming = asyncio.ensure_future(self.db.write(
            lambda tx: store.claim_due(tx, self.db.dialect, now, BATCH, now + LEASE)))
        try:
            return await asyncio.shield(claiming)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                jobs = await claiming
                if jobs:
                    await self._release([j.id for j in jobs])
            raise

    async def _release(self, ids: list[int]) -> None:
        try:
            await self.db.write(lambda tx: store.release(tx, ids))
        except Exception:
            log.exception("could not release pushes %s; they are retried when their lease ends", ids)

    async def _attempt(self, job: PushJob) -> None:
        if not job.live:
            log.info("push subscription %d removed: its app can no longer act for the person", job.subscription.id)
            return await self._delete_subscription(job)
        try:
            status = await asyncio.wait_for(self._send(job), ATTEMPT_TIMEOUT)
        except asyncio.TimeoutError:
            return await self._failed(job, f"no answer within {ATTEMPT_TIMEOUT} s")
        except net.FetchError as exc:  # refused, unreachable, a redirect, a private address: retried
            return await self._failed(job, str(exc))
        except _Gone:
            return await self.db.write(lambda tx: store.delete_delivery(tx, job.id))
        except Exception as exc:  # a bug or a broken row: retried with backoff, not every second
            log.exception("push %d to subscription %d failed", job.id, job.subscription.id)
            return await self._failed(job, f"internal error: {exc!r}")
        await self._answered(job, status, f"answered HTTP {status}")

    async def _send(self, job: PushJob) -> int:
        body = webpush.encrypt(await self._payload(job), webpush.b64url_decode(job.subscription.p256dh),
                               webpush.b64url_decode(job.subscription.auth))
        endpoint = job.subscription.endpoint
        headers = webpush.headers(self.sender.key, endpoint, self.sender.subject, clock.now())
        allow_private = self.sender.cfg.federation.allow_private_addresses
        return await net.post(endpoint, body, allow_private=allow_private, timeout=POST_TIMEOUT,
                              max_bytes=MAX_ANSWER, headers=headers)

    async def _payload(self, job: PushJob) -> bytes:
        """The notification in words, as its reader would see it on the notifications page."""
        cfg = self.sender.cfg
        notification = await notification_store.get_notification(self.db, cfg.domain, job.notification_id)
        reader = await user_store.get_user(self.db, job.subscription.user_id)
        if notification is None or reader is None:
            raise _Gone()
        ctx = await texts.context(self.db, [notification], self.sender.types, texts.zone_of(reader, cfg),
                                  reader.locale)
        return texts.payload(notification, texts.text(notification, ctx), cfg.issuer)

    async def _answered(self, job: PushJob, status: int, error: str) -> None:
        if 200 <= status < 300:
            return await self.db.write(lambda tx: store.delete_delivered(tx, job.id, job.subscription.id, clock.now()))
        if status in (404, 410):
            log.info("push subscription %d removed: %s says it is gone (HTTP %d)",
                     job.subscription.id, origin(job.subscription), status)
            return await self._delete_subscription(job)
        if status in (408, 429) or status >= 500:
            return await self._failed(job, error)
        log.warning("push %d to subscription %d dropped: %s %s", job.id, job.subscription.id,
                    origin(job.subscription), error)
        await self.db.write(lambda tx: store.delete_delivery(tx, job.id))

    async def _delete_subscription(self, job: PushJob) -> None:
        await self.db.write(lambda tx: store.delete_subscription(tx, job.subscription.id))

    async def _failed(self, job: PushJob, error: str) -> None:
        """One more failed try: retry later, or give up once the push is TTL old."""
        now = clock.now()
        age = now - job.created_at
        if age >= self.give_up_after:
            log.warning("gave up push %d to subscription %d (%s) after %d tries: %s", job.id, job.subscription.id,
                        origin(job.subscription), job.attempts + 1, error)
            return await self.db.write(lambda tx: store.delete_delivery(tx, job.id))
        retry_at = now + retry_delay(job.attempts + 1, age, self.base_delay)
        await self.db.write(lambda tx: store.update_failed(tx, job.id, now, error, retry_at))


class _Gone(Exception):
    """The notification or its reader was deleted meanwhile: nothing left to send."""
