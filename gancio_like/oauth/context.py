"""What every OAuth endpoint needs from the instance, passed explicitly."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from ..config import Config
from ..scopes import ScopeRegistry
from ..storage.db import Database

# GET a JSON object: (url, *, allow_private, timeout, max_bytes) → (the object, response
# headers), errors.FetchError otherwise. The instance hands in net.fetch_json (the guarded
# client), so protocol code never imports an HTTP client and tests may hand in their own.
FetchJSON = Callable[..., Awaitable[tuple[dict, Mapping[str, str]]]]


@dataclass(frozen=True)
class OAuthContext:
    cfg: Config
    db: Database
    scopes: ScopeRegistry
    fetch_json: FetchJSON  # for client metadata documents (oauth/cimd.py)

    @property
    def issuer(self) -> str:
        return self.cfg.issuer
