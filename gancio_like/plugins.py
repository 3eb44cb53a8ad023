"""Plugin discovery and loading (SPEC §7).

A plugin is a module or package in a `[plugins].paths` folder (Fync's own
`plugins/` is always searched) or an installed distribution with an entry point
in the `fync.plugins` group. Only `[plugins].enabled` names load; a name that is
enabled but found nowhere stops startup.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import logging
import sys
from pathlib import Path

import pluggy

from . import hookspecs
from .config import Config, ConfigError
from .storage.migrate import CORE_MIGRATIONS, Migration, read_folder

hookimpl = pluggy.HookimplMarker("fync")
log = logging.getLogger("fync.plugins")
OWN_PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
ENTRY_POINT_GROUP = "fync.plugins"


class PluginError(ConfigError):
    """A plugin cannot be loaded; the message names the plugin."""


def discover(cfg: Config) -> dict[str, object]:
    """Every plugin that could be loaded: name → a loader returning the module."""
    found: dict[str, object] = {}
    folders = [OWN_PLUGINS] + [Path(cfg.base_dir, p) for p in cfg.plugins.paths]
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
    spec = importlib.util.spec_from_file_location(f"fync_plugins.{name}", path,
                                                  submodule_search_locations=[str(source)] if source.is_dir() else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class PluginHost:
    """The pluggy manager with the enabled plugins registered under their names."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm

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
        return cls(pm)

    def names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    def migrations(self) -> list[Migration]:
        """Core migrations first, then each plugin's, tracked under its own name."""
        found = read_folder("core", CORE_MIGRATIONS)
        for impl in self.pm.hook.fync_migrations.get_hookimpls():
            folder = impl.function()
            if folder:
                found += read_folder(impl.plugin_name, Path(folder))
        return found

    async def startup(self, app) -> None:
        await self._call_async(self.pm.hook.fync_startup, app=app)

    async def shutdown(self, app) -> None:
        await self._call_async(self.pm.hook.fync_shutdown, app=app)

    @staticmethod
    async def _call_async(hook, **kwargs) -> None:
        for result in hook(**kwargs):
            if inspect.isawaitable(result):
                await result
