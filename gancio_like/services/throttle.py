"""Sliding-window counters (RFC 6819 §5.1.4.2.3: limit guessing).

Keys are e.g. ("login-user", name) or ("login-ip", ip). Two kinds, one async
interface, chosen by `throttle_for()`:

- `MemoryThrottle`, for SQLite: one process serves the instance, so memory is
  exact and free. A restart forgets, which only helps the guesser for one window.
  Keys whose hits have all aged out are swept once a window, so memory stays
  bounded by the traffic of the last window or two.
- `DbThrottle`, for PostgreSQL: several processes serve one instance, and each
  counting for itself would multiply every limit by their number. Hits are rows
  (storage/rate_limits.py) that all processes count; rows older than the window
  are swept once a window.

`attempt()` checks and counts in one step — in memory with no await in between,
in the database inside one write transaction, which the write lock serializes
across processes — so concurrent guesses cannot all pass the check before the
first of them is counted; a caller gives the hit back with `forgive()` when the
attempt turns out fine.
"""
from __future__ import annotations

import collections

from .. import clock
from ..storage import rate_limits as store


class MemoryThrottle:
    """Hits kept in this process's memory: exact when one process serves the instance."""

    def __init__(self, limit: int, window: int):
        self.limit, self.window = limit, window
        self._hits: dict[tuple, collections.deque] = {}
        self._swept = clock.now()

    def __len__(self) -> int:
        """Keys currently tracked."""
        return len(self._hits)

    def _recent(self, key: tuple, now: int) -> collections.deque:
        hits = self._hits.get(key)
        if hits is None:
            return collections.deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def _wait(self, keys: tuple[tuple, ...], now: int) -> int:
        wait = 0
        for key in keys:
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                wait = max(wait, hits[len(hits) - self.limit] + self.window - now)
        return wait

    def _count(self, keys: tuple[tuple, ...], now: int) -> None:
        self._sweep(now)
        for key in keys:
            self._recent(key, now)
            self._hits.setdefault(key, collections.deque()).append(now)

    async def retry_after(self, *keys: tuple) -> int:
        """Seconds until every key is below its limit again; 0 when none is over."""
        return self._wait(keys, clock.now())

    async def hit(self, *keys: tuple) -> None:
        """Count one hit per key, whatever the limit."""
        self._count(keys, clock.now())

    async def attempt(self, *keys: tuple) -> int:
        """Count an attempt unless a key is over its limit; returns retry_after (0 = go ahead)."""
        now = clock.now()
        wait = self._wait(keys, now)
        if not wait:
            self._count(keys, now)
        return wait

    async def forgive(self, *keys: tuple) -> None:
        """Take back one hit per key (an attempt that succeeded)."""
        for key in keys:
            hits = self._hits.get(key)
            if hits:
                hits.pop()
                if not hits:
                    del self._hits[key]

    async def reset(self, key: tuple) -> None:
        """Forget every hit of `key`."""
        self._hits.pop(key, None)

    def _sweep(self, now: int) -> None:
        if now - self._swept < self.window:
            return
        self._swept = now
        for key in list(self._hits):
            self._recent(key, now)


class DbThrottle:
    """Hits kept in the database, so every process of the instance counts against one limit.

    `name` tells this limit's rows from another's ("login", "register").
    """

    def __init__(self, db, name: str, limit: int, window: int):
        self.db, self.name = db, name
        self.limit, self.window = limit, window
        self._swept = 0  # this process sweeps at its first hit, then once a window

    async def _wait(self, reader, keys: tuple[tuple, ...], now: int) -> int:
        """Through `reader` (the database, or the transaction that is about to count)."""
        wait = 0
        for key in keys:
            nth = await store.nth_latest_hit(reader, self.name, key, now - self.window, self.limit)
            if nth is not None:
                wait = max(wait, nth + self.window - now)
        return wait

    async def _count(self, tx, keys: tuple[tuple, ...], now: int) -> None:
        if now - self._swept >= self.window:
            self._swept = now
            await store.delete_old_hits(tx, self.name, now - self.window)
        await store.insert_hits(tx, self.name, keys, now)

    async def retry_after(self, *keys: tuple) -> int:
        """Seconds until every key is below its limit again; 0 when none is over."""
        return await self._wait(self.db, keys, clock.now())

    async def hit(self, *keys: tuple) -> None:
        """Count one hit per key, whatever the limit."""
        now = clock.now()
        await self.db.write(lambda tx: self._count(tx, keys, now))

    async def attempt(self, *keys: tuple) -> int:
        """Check and count in one write transaction: no other process's attempt
        can be counted between this one's check and its hit."""
        now = clock.now()

        async def check_and_count(tx) -> int:
            wait = await self._wait(tx, keys, now)
            if not wait:
                await self._count(tx, keys, now)
            return wait
        return await self.db.write(check_and_count)

    async def forgive(self, *keys: tuple) -> None:
        """Take back one hit per key (an attempt that succeeded)."""
        async def give_back(tx) -> None:
            for key in keys:
                await store.delete_latest_hit(tx, self.name, key)
        await self.db.write(give_back)

    async def reset(self, key: tuple) -> None:
        """Forget every hit of `key`."""
        await self.db.write(lambda tx: store.delete_key(tx, self.name, key))


def throttle_for(db, name: str, limit: int, window: int) -> MemoryThrottle | DbThrottle:
    """In memory when SQLite (one process serves it); in the database when PostgreSQL
    (several processes may, and must share the count)."""
    if db.dialect == "sqlite":
        return MemoryThrottle(limit, window)
    return DbThrottle(db, name, limit, window)
