"""What a plugin imports (SPEC §7; docs/plugins.md): the hook marker, the API handler
base with its scope decorators, and the errors storage raises. Fync loads plugins
elsewhere (gancio_like/plugin_host.py); this module is only the surface they build on.
"""
from __future__ import annotations

from .handlers.api import ApiHandler, public, requires_scope
from .hookspecs import hookimpl
from .services.notify import record as record_notification
from .storage.errors import Conflict, Unavailable

__all__ = ["hookimpl", "ApiHandler", "requires_scope", "public", "record_notification", "Conflict", "Unavailable"]
