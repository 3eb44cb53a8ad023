"""The running instance is handed out in the open (issue 17 step 3): services and handlers
get it, `gancio_like/instance.py`; nothing is hung on the database object."""
from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest

from gancio_like.services import events, friends

ROOT = Path(__file__).parent.parent
PLUGINS = str(Path(__file__).parent / "plugins")


@pytest.fixture
def config_overrides():
    """A plugin that listens to every notification, so the database has someone to tell."""
    return {("plugins", "paths"): [PLUGINS], ("plugins", "enabled"): ["sample"], ("federation", "enabled"): True}


def own_fields(cls: type, package: str = "gancio_like.storage") -> set[str]:
    """Every `self.NAME = …` the classes behind `cls` (those of `package`) write themselves."""
    found = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(package):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                for leaf in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(leaf, ast.Attribute) and isinstance(leaf.value, ast.Name) and leaf.value.id == "self":
                        found.add(leaf.attr)
    return found


def assignments_to_a_database(path: Path, root: Path = ROOT, names: tuple[str, ...] = ("db",)) -> list[str]:
    """`db.X = …`, `self.db.X = …`, `app.db.X = …` or setattr(db, …) in a file (or to `names`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and node.args:
            targets = [ast.Attribute(value=node.args[0], attr="?")]
        for target in targets:
            for leaf in target.elts if isinstance(target, ast.Tuple) else [target]:
                owner = getattr(leaf, "value", None) if isinstance(leaf, ast.Attribute) else None
                if (isinstance(owner, ast.Name) and owner.id in names) or \
                        (isinstance(owner, ast.Attribute) and owner.attr in names):
                    found.append(f"{path.relative_to(root)}:{node.lineno} {leaf.attr}")
    return found


def test_nothing_outside_storage_sets_attributes_on_a_database():
    files = [p for p in sorted(ROOT.joinpath("gancio_like").rglob("*.py")) if "storage" not in p.parts]
    files += sorted(ROOT.joinpath("plugins").rglob("*.py")) + sorted(ROOT.joinpath("tests").rglob("*.py"))
    assert [hit for path in files for hit in assignments_to_a_database(path)] == []


def test_handlers_hang_nothing_on_the_application():
    """A handler keeps what it builds once through `self.fync.built(...)`; it may count on
    the application's own fields (in_flight), never add one."""
    from gancio_like.app import FyncApplication
    own = own_fields(FyncApplication, "gancio_like.app")
    files = sorted(ROOT.joinpath("gancio_like", "handlers").rglob("*.py"))
    hits = [hit for path in files for hit in assignments_to_a_database(path, names=("fync", "application"))]
    assert hits and [hit for hit in hits if hit.rpartition(" ")[2] not in own] == []


def test_the_static_check_sees_each_kind_of_assignment(tmp_path):
    tried = tmp_path / "wiring.py"
    tried.write_text("db.federation = 1\nself.db.wanted, x = 2, 3\napp.db.dispatch: int = 4\n"
                     "setattr(db, 'x', 5)\ndb.count += 1\ndb2.x = 6\nself.dbx.y = 7\n")
    hits = assignments_to_a_database(tried, tmp_path)
    assert sorted(int(hit.split(":")[1].split()[0]) for hit in hits) == [1, 2, 3, 4, 5]


@pytest.mark.gen_test
async def test_a_serving_database_holds_only_its_own_fields(app, inst, browser, make_user):
    """After startup, plugins, federation and a few writes that tell plugins and federate,
    the database object carries nothing anyone else hung on it."""
    alice, bob = await make_user("alice"), await make_user("bob")
    request = await friends.send_request(inst, alice, "bob")
    await friends.accept_request(inst, bob, request.id)
    await events.create_event(inst, alice, {"title": "Jam", "start_datetime": 1906804800})
    await browser.login("alice")
    assert (await browser.get("/friends")).code == 200
    assert app.plugins.pm.get_plugin("sample").RECORDED  # the plugin heard, through the database's own listeners
    assert set(vars(app.db)) - own_fields(type(app.db)) == set()


def test_own_fields_would_see_a_field_hung_from_outside(app):
    """The check above can fail: a field set from outside is not among the class's own."""
    assert {"_write_lock", "wanted", "caches"} <= own_fields(type(app.db))
    assert "federation" not in own_fields(type(app.db))


def test_the_instance_gives_what_services_used_to_be_handed(app, inst, cfg):
    assert (inst.cfg, inst.db, inst.plugins, inst.federation) == (cfg, app.db, app.plugins, app.federation)
    assert inst.domain == cfg.domain and inst.issuer == cfg.issuer
    assert inst.federating is inst.federation
