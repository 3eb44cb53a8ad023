"""Client moderation and housekeeping through the service layer, checked over HTTP."""
import pytest

from gancio_like import clock
from gancio_like.errors import NotFound
from gancio_like.services import housekeeping, moderation
from oauth_helpers import api, full_flow, register


async def authorized(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser)
    return client, await full_flow(browser, client)


@pytest.mark.gen_test
async def test_disable_revokes_tokens_and_blocks_client(browser, make_user, db):
    client, tokens = await authorized(browser, make_user)
    assert await moderation.disable(db, client["client_id"]) == 1
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 401
    r = await browser.get(f"/oauth/authorize?response_type=code&client_id={client['client_id']}")
    assert r.code == 400 and r.location is None


@pytest.mark.gen_test
async def test_approve_reactivates(browser, make_user, db):
    client, _ = await authorized(browser, make_user)
    await moderation.disable(db, client["client_id"])
    await moderation.approve(db, client["client_id"])
    tokens = await full_flow(browser, client)
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 200


@pytest.mark.gen_test
async def test_delete_removes_client_and_tokens(browser, make_user, db):
    client, tokens = await authorized(browser, make_user)
    await moderation.delete(db, client["client_id"])
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 401
    assert await db.fetchval("SELECT count(*) FROM tokens") == 0
    with pytest.raises(NotFound):
        await moderation.delete(db, client["client_id"])


@pytest.mark.gen_test
async def test_sweep_removes_only_dead_rows(browser, make_user, db, monkeypatch):
    await authorized(browser, make_user)
    assert await housekeeping.sweep(db) == 0
    live_before = await db.fetchval("SELECT count(*) FROM tokens")
    later = clock.now() + 2 * 86400
    monkeypatch.setattr(clock, "now", lambda: later)
    assert await housekeeping.sweep(db) >= 2  # the access token and the code
    assert await db.fetchval("SELECT count(*) FROM tokens WHERE kind = 'refresh'") == 1
    assert await db.fetchval("SELECT count(*) FROM tokens") == live_before - 1
