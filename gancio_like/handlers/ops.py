"""Operations endpoints: `GET /health` for uptime monitors and load balancers."""
from __future__ import annotations

from ..services import ops
from .base import BaseHandler


class HealthHandler(BaseHandler):
    """200 `{"status": "ok", "database": "ok", "migrations": "current"}`; 503 naming the failing part.

    No cookie, no CORS, no auth: it reveals only whether the instance works, and it is
    polled, so it is one read on the reader connection compared with the migrations
    this process was started with (read from disk once).
    """

    async def get(self) -> None:
        report = await ops.health(self.db, self.fync.migrations)
        self.set_header("Cache-Control", "no-store")
        self.write_json(report, 200 if report["status"] == "ok" else 503)

    head = get  # Tornado sends HEAD the headers of GET without the body


ROUTES: list = [(r"/health", HealthHandler)]
