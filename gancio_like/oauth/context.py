"""What every OAuth endpoint needs from the instance, passed explicitly."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..scopes import ScopeRegistry
from ..storage.db import Database


@dataclass(frozen=True)
class OAuthContext:
    cfg: Config
    db: Database
    scopes: ScopeRegistry

    @property
    def issuer(self) -> str:
        return self.cfg.issuer
