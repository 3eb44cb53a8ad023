"""Work a request starts but does not wait for (a password-reset mail), so its answer
neither waits on a slow SMTP server nor takes longer when there is work to do: the
same time whether or not an account matched. No internal imports.

Tasks are kept until they end (the event loop holds only weak references), an error
is logged instead of lost, and a graceful shutdown waits for them (`drain`).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

log = logging.getLogger("fync")


class Background:
    def __init__(self):
        self._tasks: set[asyncio.Task] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine, what: str) -> None:
        """Run `work` after this request; `what` names it if it fails."""
        task = asyncio.ensure_future(self._logged(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _logged(work: Coroutine, what: str) -> None:
        try:
            await work
        except Exception:
            log.exception("background work failed: %s", what)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait for every task (at most `timeout` s) → whether all ended; the rest are cancelled."""
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("stopping: %d background task(s) cut short (a mail may not have gone out)", len(pending))
        return not pending
