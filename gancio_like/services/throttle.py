"""In-memory sliding-window counters (RFC 6819 §5.1.4.2.3: limit guessing).

Single process, so memory is exact; a restart forgets, which only helps the
guesser for one window. Keys are e.g. ("login-user", name) or ("login-ip", ip).
"""
from __future__ import annotations

import collections

from .. import clock


class Throttle:
    def __init__(self, limit: int, window: int):
        self.limit, self.window = limit, window
        self._hits: dict[tuple, collections.deque] = {}

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
        for key in keys:
            self._recent(key, now)
            self._hits.setdefault(key, collections.deque()).append(now)

    def reset(self, key: tuple) -> None:
        self._hits.pop(key, None)
