"""The in-memory caches (access tokens, clients, sessions; storage/store.py): a cached
row never outlives the change that made it wrong."""
import asyncio

import pytest

from gancio_like import clock
from gancio_like.oauth import credentials
from gancio_like.services import moderation
from oauth_helpers import api, full_flow, register, token_request


async def warm(browser, make_user, scope="profile"):
    """A token already served once, so its grant sits in the cache."""
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser, scope="profile friends:read")
    tokens = await full_flow(browser, client, scope=scope)
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 200
    return client, tokens


def cached(app, token) -> bool:
    return app.db.cache("access").get(credentials.digest(token)) is not None


@pytest.mark.gen_test
async def test_revoked_access_token_refused_at_once(app, browser, make_user):
    client, tokens = await warm(browser, make_user)
    assert cached(app, tokens["access_token"])
    r = await browser.request("POST", "/oauth/revoke",
                              f"token={tokens['access_token']}&client_id={client['client_id']}"
                              f"&client_secret={client['client_secret']}",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)
    assert r.code == 200
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 401


@pytest.mark.gen_test
async def test_disabled_client_refused_at_once(app, browser, make_user):
    client, tokens = await warm(browser, make_user)
    await moderation.disable(app.db, client["client_id"])
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 401
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            client["client_id"], client["client_secret"])
    assert r.code == 401  # the cached client is gone too: disabled clients cannot authenticate


@pytest.mark.gen_test
async def test_rotation_keeps_old_access_token_but_reuse_kills_all(app, browser, make_user):
    client, tokens = await warm(browser, make_user)
    cid, secret = client["client_id"], client["client_secret"]
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, cid, secret)
    new = r.json()
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 200  # rotation alone revokes nothing
    assert (await api(browser, "/api/me", new["access_token"])).code == 200
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, cid, secret)
    assert r.json()["error"] == "invalid_grant"
    for token in (tokens["access_token"], new["access_token"]):
        assert (await api(browser, "/api/me", token)).code == 401


@pytest.mark.gen_test
async def test_expired_cached_token_refused(app, browser, make_user, monkeypatch):
    _, tokens = await warm(browser, make_user)
    later = clock.now() + 3601
    monkeypatch.setattr(clock, "now", lambda: later)
    assert cached(app, tokens["access_token"])
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 401


@pytest.mark.gen_test
async def test_profile_change_seen_through_cached_token(app, browser, make_user):
    _, tokens = await warm(browser, make_user)
    r = await browser.post("/settings", {"display_name": "Alice B.", "bio": "", "interests": "go"})
    assert r.code == 303
    me = (await api(browser, "/api/me", tokens["access_token"])).json()
    assert me["display_name"] == "Alice B." and me["interests"] == ["go"]


@pytest.mark.gen_test
async def test_logout_ends_cached_session(app, browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    cookie = browser.cookies["fync_session"]
    assert (await browser.get("/settings")).code == 200  # session now cached
    await browser.post("/logout")
    browser.cookies["fync_session"] = cookie
    r = await browser.get("/settings")
    assert r.code == 302 and r.location.startswith("/login")


@pytest.mark.gen_test
async def test_stale_read_cannot_refill_after_invalidation(app):
    cache = app.db.cache("access")
    epoch = cache.epoch  # a read begins...
    cache.clear()        # ...a revocation commits meanwhile...
    cache.fill(b"k", "stale", epoch)
    assert cache.get(b"k") is None  # ...and the stale row is not kept


@pytest.mark.gen_test
async def test_concurrent_refresh_chains_all_acknowledged_grants_persist(app, browser, make_user, http_client):
    client, _ = await warm(browser, make_user)
    chains = [await full_flow(browser, client) for _ in range(8)]

    async def rotate(tokens, rounds=5):
        got = []
        for _ in range(rounds):
            r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                                    client["client_id"], client["client_secret"])
            assert r.code == 200, r.text
            tokens = r.json()
            got.append(tokens["access_token"])
        return got

    acknowledged = [t for chain in await asyncio.gather(*(rotate(c) for c in chains)) for t in chain]
    for token in acknowledged:
        row = await app.db.fetchone("SELECT kind FROM tokens WHERE token_hash = ?", (credentials.digest(token),))
        assert row is not None and row["kind"] == "access"


@pytest.mark.gen_test
async def test_a_write_by_another_process_empties_the_caches_at_once(app, browser, make_user, cfg):
    """`fync client disable` from the shell while the instance serves: its own connection
    (SQLite) or its own pool (PostgreSQL), and the server's caches must not outlive it."""
    from gancio_like.storage.engine import database_for
    client, tokens = await warm(browser, make_user)
    assert cached(app, tokens["access_token"])
    shell = await database_for(cfg).open()
    try:
        await moderation.disable(shell, client["client_id"])
    finally:
        await shell.close()
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 401
