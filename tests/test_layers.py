"""Imports flow one way (issue 17 step 5; STYLE.md, "a layout that shows the architecture"):

    app, cli  →  handlers  →  services  →  oauth | federation  →  storage  →  leaf modules
                 plugins (the plugin API) → handlers, services;  handlers → plugin_host, openapi

Each group below says which groups it may import besides itself; nothing else may be
imported, so a handler cannot reach past the services into storage, the protocols do
not know each other, and nothing imports handlers but the plugin API and the top. The
walk reads every import, those inside functions too, so a lazy import cannot hide an
edge. Tornado is for the web edge only, and `gancio_like.oauth` imports without it.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "gancio_like"

# module (or package) → its group; a module belongs to the longest name that prefixes it.
GROUPS = {
    **dict.fromkeys(["gancio_like", "gancio_like.errors", "gancio_like.models", "gancio_like.notifications",
                     "gancio_like.notification_types",
                     "gancio_like.scopes", "gancio_like.clock", "gancio_like.timezones", "gancio_like.avatars",
                     "gancio_like.jsonstrict", "gancio_like.config", "gancio_like.validation",
                     "gancio_like.pagination", "gancio_like.hookspecs", "gancio_like.accesslog",
                     "gancio_like.proxies", "gancio_like.httpguard", "gancio_like.net",
                     "gancio_like.storage.errors"], "leaf"),
    "gancio_like.storage": "storage",
    "gancio_like.oauth": "oauth",
    "gancio_like.federation": "federation",
    "gancio_like.plugin_host": "plugin_host",
    "gancio_like.client": "client",
    "gancio_like.services": "services",
    "gancio_like.openapi": "openapi",
    "gancio_like.handlers": "handlers",
    "gancio_like.plugins": "plugins",
    **dict.fromkeys(["gancio_like.app", "gancio_like.cli", "gancio_like.__main__"], "top"),
}
# group → the other groups it may import.
MAY_IMPORT = {
    "leaf": set(),                   # records, rules and adapters anyone may use; they import only each other
    "storage": {"leaf"},             # all SQL; returns models, raises storage.errors
    "oauth": {"storage", "leaf"},    # protocol code, one module per RFC
    "federation": {"storage", "leaf"},
    "plugin_host": {"storage", "leaf"},  # discovery, loading, migrations, notification dispatch
    "client": {"leaf"},              # the client library behind `fync login`
    "services": {"oauth", "federation", "storage", "leaf"},  # domain rules
    "openapi": {"oauth", "leaf"},    # the published document
    "handlers": {"services", "oauth", "federation", "openapi", "plugin_host", "leaf"},  # thin HTTP edge
    "plugins": {"handlers", "services", "leaf"},  # what plugin authors import (record_notification is a service)
    "top": set(GROUPS.values()),     # app, cli: wire everything together
}
# Only these may import tornado: the web edge, the HTTP adapters, the client library behind `fync login`.
TORNADO_ALLOWED = ("gancio_like.handlers", "gancio_like.app", "gancio_like.cli",
                   "gancio_like.net", "gancio_like.httpguard", "gancio_like.proxies", "gancio_like.client")


def module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group_of(module: str) -> str:
    matches = [name for name in GROUPS if module == name or module.startswith(name + ".")]
    return GROUPS[max(matches, key=len)]


def imports(path: Path, root: Path = PACKAGE.parent) -> set[str]:
    """Every module `path` imports, anywhere in it; `from . import x` counts as the submodule x."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.update(_submodule_or(root, base, alias.name) for alias in node.names)
    return found


def _submodule_or(root: Path, base: str, name: str) -> str:
    candidate = f"{base}.{name}"
    relative = Path(*candidate.split("."))
    if (root / relative).is_dir() or (root / relative.with_suffix(".py")).exists():
        return candidate
    return base


def against_the_flow(module: str, target: str) -> str | None:
    """Why `module` must not import `target`, or None when it may."""
    if target.split(".")[0] == "tornado" and not module.startswith(TORNADO_ALLOWED):
        return "tornado outside the web edge"
    if not target.startswith("gancio_like"):
        return None
    mine, theirs = group_of(module), group_of(target)
    if mine == theirs or theirs in MAY_IMPORT[mine]:
        return None
    return f"{mine} may not import {theirs}"


def edges_against_the_flow(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path)
        for target in sorted(imports(path)):
            why = against_the_flow(module, target)
            if why:
                found.append(f"{module} -> {target} ({why})")
    return found


def test_every_import_flows_down():
    assert edges_against_the_flow() == []


def test_every_group_has_its_rule():
    assert set(MAY_IMPORT) == set(GROUPS.values()) and all(r <= set(GROUPS.values()) for r in MAY_IMPORT.values())


@pytest.mark.parametrize("module, target, why", [
    # the edges issue 17 found, each refused
    ("gancio_like.scopes", "gancio_like.oauth.errors", "leaf may not import oauth"),
    ("gancio_like.plugin_host", "gancio_like.handlers.api", "plugin_host may not import handlers"),
    ("gancio_like.oauth.cimd", "tornado.httpclient", "tornado outside the web edge"),
    ("gancio_like.services.doctor", "tornado.httpclient", "tornado outside the web edge"),
    ("gancio_like.handlers.discovery", "gancio_like.storage.users", "handlers may not import storage"),
    # and a few more of each kind
    ("gancio_like.oauth.cimd", "gancio_like.federation.actors", "oauth may not import federation"),
    ("gancio_like.storage.users", "gancio_like.services.accounts", "storage may not import services"),
    ("gancio_like.errors", "gancio_like.storage.db", "leaf may not import storage"),
    ("gancio_like.services.friends", "gancio_like.federation.delivery", None),
    ("gancio_like.handlers.base", "gancio_like.storage.errors", None),  # a leaf: mapped to HTTP there
    ("gancio_like.validation", "gancio_like.errors", None),
    ("gancio_like.plugins", "gancio_like.handlers.api", None),
    ("gancio_like.cli", "gancio_like.handlers.api", None),
])
def test_the_rule_itself(module, target, why):
    assert against_the_flow(module, target) == why


def test_a_lazy_import_inside_a_function_is_seen(tmp_path):
    package = tmp_path / "gancio_like"
    (package / "storage").mkdir(parents=True)
    (package / "storage" / "__init__.py").write_text("")
    (package / "storage" / "users.py").write_text("def f():\n    from ..handlers import api\n")
    assert imports(package / "storage" / "users.py", tmp_path) == {"gancio_like.handlers"}


BLOCK_TORNADO = """
import importlib, importlib.abc, pkgutil, sys

class NoTornado(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tornado" or name.startswith("tornado."):
            raise ImportError(f"{name} is blocked: gancio_like.oauth must not need it")
        return None

sys.meta_path.insert(0, NoTornado())
import gancio_like.oauth
names = [m.name for m in pkgutil.iter_modules(gancio_like.oauth.__path__, "gancio_like.oauth.")]
for name in names:
    importlib.import_module(name)
assert not any(m == "tornado" or m.startswith("tornado.") for m in sys.modules)
print(len(names))
"""


def test_oauth_imports_without_tornado():
    """Protocol code never imports the web framework (Authlib's rule): blocked, it still loads."""
    done = subprocess.run([sys.executable, "-c", BLOCK_TORNADO], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(list(PACKAGE.joinpath("oauth").glob("*.py"))) - 1  # all but __init__


def test_the_blocker_blocks():
    """The same blocker stops a module that does need tornado, so the test above can fail."""
    script = BLOCK_TORNADO.replace("import gancio_like.oauth\n", "import gancio_like.oauth\nimport gancio_like.net\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "tornado is blocked" in done.stderr
