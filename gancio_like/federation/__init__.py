"""ActivityPub federation: friends across instances (SPEC §6).

- `webfinger.py`  acct → actor URL on another instance (RFC 7033)
- `actors.py`     our users as `Person` actors; remote actors fetched, checked, cached
- `keys.py`       per-user RSA key pairs
- `signatures.py` HTTP Signatures (draft-cavage), signing and checking
- `activities.py` Follow / Accept / Reject / Undo: built going out, parsed coming in
- `inbox.py`      an incoming POST → a verified actor and activity
- `delivery.py`   the outbox queue and the worker that delivers it, with retries

The friendship rules themselves live in services/friends.py, which queues
activities here and applies the ones the inbox verified.
"""
from __future__ import annotations

from urllib.parse import urlsplit


class Federation:
    """What federation needs from the instance: its config and database, and the
    delivery worker (started by `serve()`, or by a test)."""

    def __init__(self, cfg, db):
        self.cfg, self.db = cfg, db
        self.worker = None

    @property
    def enabled(self) -> bool:
        return self.cfg.federation.enabled

    @property
    def allow_private(self) -> bool:
        return self.cfg.federation.allow_private_addresses

    @property
    def issuer(self) -> str:
        return self.cfg.issuer

    @property
    def domain(self) -> str:
        return self.cfg.domain

    def start(self, **options) -> None:
        """Start delivering the outbox (not when federation is disabled). Options: see DeliveryWorker."""
        from .delivery import DeliveryWorker
        if self.enabled and self.worker is None:
            self.worker = DeliveryWorker(self, **{"give_up_after": self.cfg.federation.give_up_after, **options})
            self.worker.start()

    async def stop(self) -> None:
        """Stop delivering; what was not delivered stays queued for the next start."""
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None


# Ids and URLs from other instances are stored and indexed, and PostgreSQL's indexes take
# at most ~2.7 KB a row: longer ones are refused (Mastodon's are ~100 bytes).
MAX_ID_BYTES = 1024


def too_long(value: str) -> bool:
    return len(value.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES


def host_of(url) -> str:
    """host[:port] of a URL, lower-case; '' when it has none (or is no URL at all)."""
    try:
        return urlsplit(url).netloc.lower() if isinstance(url, str) else ""
    except ValueError:
        return ""
