"""`fync plugins`: every discovered plugin, enabled or not, with its scopes and routes (SPEC §7)."""
from __future__ import annotations

import dataclasses
from argparse import ArgumentParser

from ..config import Config
from ..handlers.api import declared_scopes
from ..plugin_host import PluginError, PluginHost, discover
from . import config_args


def plugins_parser(p: ArgumentParser) -> None:
    p.description = "List discovered plugins, enabled or not."
    config_args(p)
    p.set_defaults(run=list_plugins)


async def list_plugins(cfg: Config, args) -> int:
    """Each discovered plugin, loaded on its own so one broken plugin hides no other."""
    enabled = set(cfg.plugins.enabled)
    for name in sorted(discover(cfg)):
        print(f"{name}\t{'enabled' if name in enabled else 'disabled'}")
        only = dataclasses.replace(cfg, plugins=dataclasses.replace(cfg.plugins, enabled=[name]))
        try:
            info = PluginHost.load(only).describe()[name]
        except PluginError as exc:
            print(f"  cannot load: {exc}")
            continue
        for scope, description in info["scopes"].items():
            print(f"  scope  {scope}\t{description}")
        for pattern, handler in info["routes"]:
            declared = ", ".join(f"{m} {s}" for m, s in declared_scopes(handler).items())
            print(f"  route  {pattern}\t{declared}")
    return 0


PARSERS = {"plugins": plugins_parser}
