"""The loop both outgoing queues run (federation/delivery.py, services/push_delivery.py):
claim the due rows under a lease, try them all at once, give back what was cut off.

Rows are claimed in the database, so workers in several processes never try the same
one; a worker that dies leaves its leases to run out, and its rows are due again then.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

from . import clock


class LeasedWorker:
    """Tries due rows until stopped; `run_once()` does one round (tests). A subclass says
    how its rows are claimed (`_claim_due`), given back (`_give_back`) and tried (`_attempt`)."""

    log = logging.getLogger("fync")
    kind = "row"  # in log lines: "delivery", "push"

    def __init__(self, db, poll_interval: float, base_delay: int, give_up_after: int):
        self.db = db
        self.poll_interval, self.base_delay, self.give_up_after = poll_interval, base_delay, give_up_after
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop at once; a try cut off mid-way is made again later."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                tried = await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive any one bad round (disk full, a bug)
                self.log.exception("%s round failed", self.kind)
                tried = 0
            await asyncio.sleep(0 if tried else self.poll_interval)

    async def _round(self) -> int:
        """One turn of the loop; a subclass may look first, or tidy up after."""
        return await self.run_once()

    async def run_once(self) -> int:
        """Claim and try every due row (the claim limits how many); how many were tried."""
        rows = await self._claim()
        unfinished = {row.id for row in rows}

        async def attempt(row) -> None:
            await self._attempt(row)
            unfinished.discard(row.id)
        try:
            # return_exceptions: one failed record must not leave the others running unwatched.
            outcomes = await asyncio.gather(*(attempt(row) for row in rows), return_exceptions=True)
        except asyncio.CancelledError:  # stop(): the rows cut off are due again now, not at lease end
            if unfinished:
                await self._release(sorted(unfinished))
            raise
        if unfinished:  # tried, but the outcome could not be recorded
            await self._release(sorted(unfinished))
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return len(rows)

    async def _claim(self) -> list:
        """Claim the due rows. Stopped meanwhile, the claim commits all the same (the
        write is already queued): wait for it and give its rows back."""
        now = clock.now()
        claiming = asyncio.ensure_future(self.db.write(lambda tx: self._claim_due(tx, now)))
        try:
            return await asyncio.shield(claiming)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                rows = await claiming
                if rows:
                    await self._release([row.id for row in rows])
            raise

    async def _release(self, ids: list[int]) -> None:
        """Give claims back; if even that fails, their leases run out instead."""
        try:
            await self.db.write(lambda tx: self._give_back(tx, ids))
        except Exception:
            self.log.exception("could not release %s rows %s; they are retried when their lease ends", self.kind, ids)

    async def _claim_due(self, tx, now: int) -> list:
        raise NotImplementedError

    async def _give_back(self, tx, ids: list[int]) -> None:
        raise NotImplementedError

    async def _attempt(self, row) -> None:
        raise NotImplementedError
