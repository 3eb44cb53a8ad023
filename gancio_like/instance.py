"""The running instance: what handlers, services and commands share besides the
database, built once at startup (`app.open_instance`) and passed to them in the open.

Services that need more than the database take it as their first argument, `inst`;
handlers reach it as `self.instance`. Nothing is hung on the database object: it
knows only its own connections, caches and who hears of commits (given when it is made).
The clock stays the module `clock`: a function everyone calls, which tests set.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .federation import Federation
from .plugin_host import PluginHost
from .storage.db import Database
from .storage.pg import PgDatabase


@dataclass(frozen=True, eq=False)
class Instance:
    cfg: Config
    db: Database | PgDatabase
    plugins: PluginHost
    federation: Federation

    @property
    def domain(self) -> str:
        """Ours, as in `name@domain`."""
        return self.cfg.domain

    @property
    def issuer(self) -> str:
        """The public URL everything here is linked from."""
        return self.cfg.issuer

    @property
    def federating(self) -> Federation | None:
        """Federation when it is on (activities are queued only then), else None."""
        return self.federation if self.federation.enabled else None
