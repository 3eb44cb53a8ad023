"""In-memory sliding-window counters (RFC 6819 §5.1.4.2.3: limit guessing).

Single process, so memory is exact; a restart forgets, which only helps the
guesser for one window. Keys are e.g. ("login-user", name) or ("login-ip", ip).
Keys whose hits have all aged out are swept once a window, so memory stays bounded
by the traffic of the last window or two.

`attempt()` checks and counts in one step (no await in between), so concurrent
guesses cannot all pass the check before the first of them is counted; a caller
gives the hit back with `forgive()` when the attempt turns out fine.
"""
from __future__ import annotations

import collections

from .. import clock


class Throttle:
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

    def retry_after(self, *keys: tuple) -> int:
        """Seconds until every key is below its limit again; 0 when none is over."""
        now = clock.now()
        wait = 0
        for key in keys:
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                wait = max(wait, hits[len(hits) - self.limit] + self.window - now)
        return wait

    def hit(self, *keys: tuple) -> None:
        now = clock.now()
        self._sweep(now)
        for key in keys:
            self._recent(key, now)
            self._hits.setdefault(key, collections.deque()).append(now)

    def attempt(self, *keys: tuple) -> int:
        """Count an attempt unless a key is over its limit; returns retry_after (0 = go ahead)."""
        wait = self.retry_after(*keys)
        if not wait:
            self.hit(*keys)
        return wait

    def forgive(self, *keys: tuple) -> None:
        """Take back one hit per key (an attempt that succeeded)."""
        for key in keys:
            hits = self._hits.get(key)
            if hits:
                hits.pop()
                if not hits:
                    del self._hits[key]

    def _sweep(self, now: int) -> None:
        if now - self._swept < self.window:
            return
        self._swept = now
        for key in list(self._hits):
            self._recent(key, now)

    def reset(self, key: tuple) -> None:
        self._hits.pop(key, None)
