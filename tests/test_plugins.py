"""The plugin hook system (SPEC §7) through a sample plugin that implements every hook."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from gancio_like import hookspecs, notifications
from gancio_like.config import load_config
from gancio_like.plugin_host import PluginError, PluginHost
from gancio_like.scopes import ScopeRegistry
from oauth_helpers import api, consent, authorize_url, full_flow, pkce_pair, register

PLUGINS = str(Path(__file__).parent / "plugins")


@pytest.fixture
def config_overrides():
    return {("plugins", "paths"): [PLUGINS], ("plugins", "enabled"): ["sample"],
            ("plugins", "sample"): {"greeting": "hi"}}


def recorded(app) -> list:
    return app.plugins.pm.get_plugin("sample").RECORDED


async def token_for(browser, make_user, scope: str) -> str:
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser, scope="profile sample:read sample:write")
    return (await full_flow(browser, client, scope=scope))["access_token"]


@pytest.mark.gen_test
async def test_plugin_scopes_in_metadata(browser):
    scopes = (await browser.get("/.well-known/oauth-authorization-server")).json()["scopes_supported"]
    assert {"sample:read", "sample:write", "profile"} <= set(scopes)


@pytest.mark.gen_test
async def test_consent_page_shows_plugin_scope_description(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser, scope="sample:read")
    _, challenge = pkce_pair()
    page = await browser.get(authorize_url(client["client_id"], scope="sample:read", challenge=challenge))
    assert page.code == 200 and "Read your sample notes" in page.text


@pytest.mark.gen_test
async def test_plugin_endpoint_with_its_scope(browser, make_user):
    token = await token_for(browser, make_user, "sample:read sample:write")
    r = await api(browser, "/api/sample/notes", token, "POST", {"body": "first"})
    assert r.code == 201
    r = await api(browser, "/api/sample/notes", token)
    assert r.json() == {"items": ["first"], "greeting": "hi"}


@pytest.mark.gen_test
async def test_plugin_endpoint_refuses_missing_scope(browser, make_user):
    token = await token_for(browser, make_user, "sample:read")
    r = await api(browser, "/api/sample/notes", token, "POST", {"body": "x"})
    assert r.code == 403 and 'scope="sample:write"' in r.headers["WWW-Authenticate"]
    assert (await api(browser, "/api/sample/notes", None)).code == 401


@pytest.mark.gen_test
async def test_public_plugin_route_sees_optional_token(browser, make_user):
    assert (await api(browser, "/api/sample/hello", None)).json() == {"hello": None}
    token = await token_for(browser, make_user, "sample:read")
    assert (await api(browser, "/api/sample/hello", token)).json() == {"hello": "alice"}


@pytest.mark.gen_test
async def test_plugin_notification_type_is_recorded_and_described(browser, make_browser, make_user, app):
    assert "sample:poke" in app.notification_types.names()
    poker = await token_for(browser, make_user, "sample:write")
    bob_id, bob = await make_user("bob"), make_browser()
    await bob.login("bob")
    r = await api(browser, "/api/sample/pokes", poker, "POST", {"user_id": bob_id})
    assert r.code == 201, r.text
    client = await register(bob, scope="notifications")
    token = (await full_flow(bob, client, scope="notifications"))["access_token"]
    [item] = (await api(bob, "/api/notifications", token)).json()["items"]
    assert item["type"] == "sample:poke" and item["title"] == "Someone poked you"
    assert item["actor"]["acct"].startswith("alice@") and item["url"].endswith("/u/alice")
    assert "Someone poked you" in (await bob.get("/notifications")).text


def test_plugin_notification_type_must_carry_its_name():
    from gancio_like.notification_types import NotificationTypes
    types = NotificationTypes()
    for name in ("poke", "other:poke", "sample:Poke", "friend_request"):
        with pytest.raises(ValueError, match="sample"):
            types.add(name, "Someone poked you", owner="sample")
    types.add("sample:poke", "Someone poked you", owner="sample")
    with pytest.raises(ValueError, match="already declared"):
        types.add("sample:poke", "Again", owner="sample")


@pytest.mark.gen_test
async def test_plugin_migrations_tracked_under_its_name(db):
    owners = {r["owner"] for r in await db.fetchall("SELECT owner FROM schema_migrations")}
    assert owners == {"core", "sample"}
    assert await db.fetchval("SELECT count(*) FROM sample_notes") == 0


@pytest.mark.gen_test
async def test_api_index_has_plugin_links(browser, app):
    assert (await browser.get("/api")).json()["links"]["sample_notes"] == f"{app.cfg.issuer}/api/sample/notes"


def test_startup_hook_ran(app):
    assert ("startup", "Fync") in recorded(app)


@pytest.mark.gen_test
async def test_user_created_after_commit(app, make_user):
    user_id = await make_user("bob")
    assert notifications.UserCreated(user_id=user_id, username="bob") in recorded(app)


@pytest.mark.gen_test
async def test_no_notification_for_rolled_back_signup(app, make_user):
    await make_user("bob")
    before = len(recorded(app))
    with pytest.raises(Exception):
        await make_user("bob")
    assert len(recorded(app)) == before


@pytest.mark.gen_test
async def test_token_issued_reaches_async_listener(app, browser, make_user):
    await token_for(browser, make_user, "sample:read")
    await asyncio.sleep(0)  # async listeners run after the response
    issued = [e for e in recorded(app) if isinstance(e, notifications.TokenIssued)]
    assert issued and issued[-1].scope == "sample:read" and issued[-1].grant_type == "authorization_code"


@pytest.mark.gen_test
async def test_token_revoked_is_told(app, browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser, scope="sample:read")
    tokens = await full_flow(browser, client, scope="sample:read")
    r = await browser.request("POST", "/oauth/revoke", f"token={tokens['refresh_token']}"
                              f"&client_id={client['client_id']}&client_secret={client['client_secret']}",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)
    assert r.code == 200
    assert any(isinstance(e, notifications.TokenRevoked) for e in recorded(app))


def _host(tmp_path, *enabled: str) -> PluginHost:
    cfg = load_config(None, env={}, overrides={("plugins", "paths"): [PLUGINS],
                                              ("plugins", "enabled"): list(enabled),
                                              ("server", "data_dir"): str(tmp_path)})
    return PluginHost.load(cfg)


def test_unknown_enabled_plugin_is_named(tmp_path):
    with pytest.raises(PluginError, match="'nonesuch'"):
        _host(tmp_path, "nonesuch")


def test_scope_outside_plugin_name_refused(tmp_path):
    with pytest.raises(PluginError, match="broken_scope.*event:delete"):
        _host(tmp_path, "broken_scope").add_scopes(ScopeRegistry())


def test_route_clash_refused(tmp_path):
    from gancio_like.handlers.routes import core_routes, plugin_routes
    with pytest.raises(PluginError, match="clash_route.*/api/me"):
        plugin_routes(_host(tmp_path, "clash_route").routes(), core_routes(), ScopeRegistry())


def test_route_without_scope_refused(tmp_path):
    from gancio_like.handlers.routes import plugin_routes
    with pytest.raises(PluginError, match="no_scope.*declares no scope"):
        plugin_routes(_host(tmp_path, "no_scope").routes(), [], ScopeRegistry())


def test_no_listeners_means_nothing_queued(tmp_path):
    assert _host(tmp_path).wanted() == frozenset()


@pytest.mark.gen_test
async def test_raising_listener_does_not_fail_the_request(tmp_path, make_browser, caplog, app):
    host = _host(tmp_path, "raising")
    app.db.wanted, app.db.dispatch = host.wanted(), host.notify
    with caplog.at_level(logging.ERROR, logger="fync.plugins"):
        r = await make_browser().post("/signup", {"username": "carol", "password": "password one"})
    assert r.code == 303
    assert "'raising'" in caplog.text and "fync_user_created" in caplog.text


HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("fync_"))


def test_every_hook_is_implemented_by_the_sample(app):
    sample = app.plugins.pm.get_plugin("sample")
    assert [h for h in HOOKS if not hasattr(sample, h)] == []


def test_every_hook_is_documented():
    docs = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    assert [h for h in HOOKS if f"### `{h}" not in docs] == []


@pytest.mark.gen_test(timeout=10)
async def test_slow_async_listener_does_not_block_the_response(tmp_path, make_browser, app):
    import time
    host = _host(tmp_path, "slow")
    app.db.wanted, app.db.dispatch = host.wanted(), host.notify
    started = time.monotonic()
    r = await make_browser().post("/signup", {"username": "dave", "password": "password one"})
    assert r.code == 303 and time.monotonic() - started < 1.0
    slow = host.pm.get_plugin("slow")
    assert slow.DONE == []
    await asyncio.sleep(2)
    assert slow.DONE == ["dave"]


def test_every_hook_has_a_test():
    """Datasette's rule: a hook nobody tests is a hook nobody knows still works."""
    here = Path(__file__).read_text() + (Path(__file__).parent / "test_checkins.py").read_text()
    covered = {
        "fync_scopes": "test_plugin_scopes_in_metadata", "fync_routes": "test_plugin_endpoint_with_its_scope",
        "fync_migrations": "test_plugin_migrations_tracked_under_its_name",
        "fync_api_index": "test_api_index_has_plugin_links", "fync_startup": "test_startup_hook_ran",
        "fync_shutdown": "test_shutdown_hook_runs", "fync_user_created": "test_user_created_after_commit",
        "fync_friendship_created": "test_friendship_created_is_told",
        "fync_event_created": "test_event_created_is_told",
        "fync_token_issued": "test_token_issued_reaches_async_listener",
        "fync_token_revoked": "test_token_revoked_is_told",
        "fync_notification_types": "test_plugin_notification_type_is_recorded_and_described",
    }
    assert sorted(covered) == HOOKS
    assert [t for t in covered.values() if f"def {t}(" not in here] == []


@pytest.mark.gen_test
async def test_shutdown_hook_runs(app):
    await app.plugins.shutdown(app)
    assert ("shutdown",) in recorded(app)


@pytest.mark.gen_test
async def test_event_created_is_told(app, browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser, scope="event:write")
    token = (await full_flow(browser, client, scope="event:write"))["access_token"]
    r = await api(browser, "/api/events", token, "POST", {"title": "Picnic", "start_datetime": 4102444800})
    assert r.code == 201
    assert notifications.EventCreated(event_id=r.json()["id"], owner_id=1, title="Picnic") in recorded(app)


@pytest.mark.gen_test
async def test_friendship_created_is_told(app, browser, make_browser, make_user):
    tokens = {}
    for name in ("alice", "bob"):
        b = browser if name == "alice" else make_browser()
        await make_user(name)
        await b.login(name)
        client = await register(b, scope="friends:write")
        tokens[name] = (b, (await full_flow(b, client, scope="friends:write"))["access_token"])
    b, t = tokens["alice"]
    request = (await api(b, "/api/friends/requests", t, "POST", {"to": "bob"})).json()
    b, t = tokens["bob"]
    assert (await api(b, f"/api/friends/requests/{request['id']}/accept", t, "POST", {})).code == 200
    told = [e for e in recorded(app) if isinstance(e, notifications.FriendshipCreated)]
    assert len(told) == 1 and {told[0].user_acct.split("@")[0], told[0].friend_acct.split("@")[0]} == {"alice", "bob"}


def test_fync_plugins_lists_scopes_routes_and_broken_ones(tmp_path):
    import subprocess
    import sys
    (tmp_path / "fync.toml").write_text(f'[server]\ndata_dir = "data"\n[plugins]\npaths = ["{PLUGINS}"]\n'
                                        'enabled = ["sample"]\n')
    fync = str(Path(sys.executable).with_name("fync"))
    out = subprocess.run([fync, "plugins", "--config", str(tmp_path / "fync.toml")],
                         capture_output=True, text=True, timeout=60).stdout
    assert "sample\tenabled" in out and "checkins\tdisabled" in out
    assert "scope  sample:read\tRead your sample notes" in out
    assert "route  /api/sample/notes\tGET sample:read, POST sample:write" in out
    assert "route  /api/checkins\tPOST checkins:write" in out
    assert "broken_scope\tdisabled" in out  # loadable: its bad scope only fails at startup
    assert "no_scope\tdisabled" in out
