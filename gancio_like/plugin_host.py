"""The plugin host: discovery, loading, and what Fync asks of plugins (SPEC §7).

A plugin is a module or package in a `[plugins].paths` folder or an installed
distribution with an entry point in the `fync.plugins` group (Fync's own `checkins`
is one: setup.cfg installs it as `gancio_like.bundled_plugins.checkins`). Only
`[plugins].enabled` names load. Anything a plugin declares wrongly — an unknown
name, a scope clash or bad scope name, a route that clashes with the core or
declares no scope (handlers/routes.py checks routes) — stops startup with a message
naming the plugin, rather than surfacing later as a confusing 403 or 404.

What plugin authors import is `gancio_like.plugins`. This module imports no handlers,
so `fync migrate` and the other commands that only need migrations never load a web
framework of their own accord (a plugin's module may still import one).
"""
from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import inspect
import logging
import sys
from pathlib import Path

import pluggy

from . import hookspecs
from .config import Config, ConfigError
from .scopes import ScopeRegistry
from .notification_types import NotificationTypes
from .storage.migrate import Migration, read_core, read_folder

log = logging.getLogger("fync.plugins")
ENTRY_POINT_GROUP = "fync.plugins"
NOTIFICATION_HOOKS = ("fync_user_created", "fync_friendship_created", "fync_event_created",
                      "fync_token_issued", "fync_token_revoked")


class PluginError(ConfigError):
    """A plugin cannot be loaded; the message names the plugin."""


def discover(cfg: Config) -> dict[str, object]:
    """Every plugin that could be loaded: name → its file, folder or entry point."""
    found: dict[str, object] = {}
    folders = [Path(cfg.base_dir, p) for p in cfg.plugins.paths]
    for folder in dict.fromkeys(f.resolve() for f in folders):
        for path in sorted(folder.glob("*")) if folder.is_dir() else ():
            name = path.stem if path.suffix == ".py" else path.name
            if (path.suffix == ".py" or (path / "__init__.py").exists()) and not name.startswith("_"):
                found.setdefault(name, path)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def _import(name: str, source) -> object:
    if isinstance(source, importlib.metadata.EntryPoint):
        return source.load()
    path = source / "__init__.py" if source.is_dir() else source
    search = [str(source)] if source.is_dir() else None
    spec = importlib.util.spec_from_file_location(f"fync_plugins.{name}", path,
                                                  submodule_search_locations=search)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class PluginHost:
    """The pluggy manager with the enabled plugins registered under their names."""

    def __init__(self, pm: pluggy.PluginManager, cfg: Config):
        self.pm, self.cfg = pm, cfg
        # Listener lists are fixed at startup, so a hook nobody implements costs nothing.
        self.listeners = {hook: getattr(pm.hook, hook).get_hookimpls() for hook in NOTIFICATION_HOOKS}

    @classmethod
    def load(cls, cfg: Config) -> "PluginHost":
        pm = pluggy.PluginManager("fync")
        pm.add_hookspecs(hookspecs)
        available = discover(cfg)
        for name in cfg.plugins.enabled:
            if name not in available:
                raise PluginError(f"plugin {name!r} is enabled but not found in "
                                  f"{', '.join(cfg.plugins.paths)} or installed packages")
            try:
                pm.register(_import(name, available[name]), name=name)
            except Exception as exc:
                raise PluginError(f"plugin {name!r} failed to load: {exc}") from exc
        return cls(pm, cfg)

    def names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    def settings(self, name: str) -> dict:
        """The plugin's `[plugins.NAME]` table."""
        return dict(self.cfg.plugins.settings.get(name, {}))

    @staticmethod
    def _results(hook, **kwargs) -> list[tuple[str, object]]:
        """(plugin name, result) of every implementation, in registration order."""
        return [(impl.plugin_name, impl.function(**kwargs)) for impl in hook.get_hookimpls()]

    def migrations(self, dialect: str = "sqlite") -> list[Migration]:
        """Core migrations first, then each plugin's, tracked under its own name;
        in `dialect` ("sqlite" or "postgresql") where a file has a version for it."""
        found = read_core(dialect)
        for name, folder in self._results(self.pm.hook.fync_migrations):
            if folder:
                found += read_folder(name, Path(folder), dialect)
        return found

    def add_scopes(self, registry: ScopeRegistry) -> None:
        for name, scopes in self._results(self.pm.hook.fync_scopes):
            for scope, description in (scopes or {}).items():
                if not scope.startswith(f"{name}:"):
                    raise PluginError(f"plugin {name!r}: scope {scope!r} must be named {name}:<action>")
                try:
                    registry.add(scope, description, owner=name)
                except ValueError as exc:  # its message already names the plugin
                    raise PluginError(str(exc)) from exc

    def add_notification_types(self, registry: NotificationTypes) -> None:
        for name, types in self._results(self.pm.hook.fync_notification_types):
            for kind, description in (types or {}).items():
                try:
                    registry.add(kind, description, owner=name)
                except ValueError as exc:  # its message already names the plugin
                    raise PluginError(str(exc)) from exc

    def routes(self) -> list[tuple[str, str, object]]:
        """(plugin name, pattern, handler) of every route the plugins add, as they gave them;
        handlers/routes.py checks them against the core's and the scope registry."""
        return [(name, pattern, handler) for name, routes in self._results(self.pm.hook.fync_routes)
                for pattern, handler in routes or ()]

    def describe(self) -> dict[str, dict]:
        """{name: {"scopes": {...}, "routes": [(pattern, handler)]}} for `fync plugins`."""
        info = {name: {"scopes": {}, "routes": []} for name in self.names()}
        for name, scopes in self._results(self.pm.hook.fync_scopes):
            info[name]["scopes"] = dict(scopes or {})
        for name, pattern, handler in self.routes():
            info[name]["routes"].append((pattern, handler))
        return info

    def api_links(self, user) -> dict:
        links = {}
        for _, extra in self._results(self.pm.hook.fync_api_index, user=user):
            links.update(extra or {})
        return links

    def wanted(self) -> frozenset[str]:
        return frozenset(hook for hook, impls in self.listeners.items() if impls)

    def notify(self, event) -> None:
        """Tell every listener; one that raises is logged and skipped, async ones run later."""
        for impl in self.listeners.get(event.hook, ()):
            try:
                result = impl.function(event=event)
                if inspect.isawaitable(result):
                    asyncio.ensure_future(result).add_done_callback(_logger_for(impl.plugin_name, event.hook))
            except Exception:
                log.exception("plugin %r failed in %s", impl.plugin_name, event.hook)

    async def startup(self, app) -> None:
        await self._call_async(self.pm.hook.fync_startup, app=app)

    async def shutdown(self, app) -> None:
        await self._call_async(self.pm.hook.fync_shutdown, app=app)

    async def _call_async(self, hook, **kwargs) -> None:
        for _, result in self._results(hook, **kwargs):
            if inspect.isawaitable(result):
                await result


def _logger_for(plugin: str, hook: str):
    def done(task: asyncio.Future) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("plugin %r failed in %s", plugin, hook, exc_info=task.exception())
    return done

