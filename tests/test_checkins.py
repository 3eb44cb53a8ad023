"""The example plugin end to end through OAuth (issue 6): register, consent shows the
plugin scope, call its endpoints, 403 without the scope."""
import pytest

from oauth_helpers import api, authorize_url, full_flow, pkce_pair, register

EVENT = {"title": "Picnic", "start_datetime": 4102444800, "place_name": "Park"}


async def setup(browser, make_user, scope):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser, scope="profile event:write checkins:read checkins:write")
    token = (await full_flow(browser, client, scope=scope))["access_token"]
    return client, token


async def make_event(browser, token, **fields) -> int:
    r = await api(browser, "/api/events", token, "POST", {**EVENT, **fields})
    assert r.code == 201, r.text
    return r.json()["id"]


@pytest.mark.gen_test
async def test_checkins_enabled_by_default(app):
    assert "checkins" in app.plugins.names()
    assert {"checkins:read", "checkins:write"} <= set(app.scopes.names())


@pytest.mark.gen_test
async def test_consent_shows_plugin_scope(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser, scope="checkins:write")
    _, challenge = pkce_pair()
    page = await browser.get(authorize_url(client["client_id"], scope="checkins:write", challenge=challenge))
    assert "Check you in to events" in page.text and 'value="checkins:write" checked' in page.text


@pytest.mark.gen_test
async def test_check_in_and_list(browser, make_user):
    _, token = await setup(browser, make_user, "event:write checkins:read checkins:write")
    event_id = await make_event(browser, token)
    r = await api(browser, "/api/checkins", token, "POST", {"event_id": event_id})
    assert r.code == 201 and r.json()["username"] == "alice"
    r = await api(browser, "/api/checkins", token, "POST", {"event_id": event_id})
    assert r.code == 409
    r = await api(browser, f"/api/events/{event_id}/checkins", token)
    assert r.code == 200 and [i["username"] for i in r.json()["items"]] == ["alice"]
    assert r.json()["next_cursor"] is None


@pytest.mark.gen_test
async def test_scope_enforced(browser, make_user):
    _, token = await setup(browser, make_user, "event:write checkins:read")
    event_id = await make_event(browser, token)
    r = await api(browser, "/api/checkins", token, "POST", {"event_id": event_id})
    assert r.code == 403 and 'scope="checkins:write"' in r.headers["WWW-Authenticate"]
    assert (await api(browser, f"/api/events/{event_id}/checkins", None)).code == 401


@pytest.mark.gen_test
async def test_bad_input(browser, make_user):
    _, token = await setup(browser, make_user, "event:write checkins:read checkins:write")
    for body in ({}, {"event_id": "1"}, {"event_id": 1.5}):
        r = await api(browser, "/api/checkins", token, "POST", body)
        assert r.code == 400 and r.json()["error"] == "invalid_request"
    assert (await api(browser, "/api/checkins", token, "POST", {"event_id": 999})).code == 404
    assert (await api(browser, "/api/events/999/checkins", token)).code == 404
    event_id = await make_event(browser, token)
    for query in ("limit=0", "limit=101", "limit=x", "cursor=-1"):
        assert (await api(browser, f"/api/events/{event_id}/checkins?{query}", token)).code == 400


@pytest.mark.gen_test
async def test_paging(browser, make_user, make_browser):
    _, token = await setup(browser, make_user, "event:write checkins:read checkins:write")
    event_id = await make_event(browser, token)
    for name in ("bob", "carol"):
        other = make_browser()
        await make_user(name)
        await other.login(name)
        client = await register(other, scope="checkins:write")
        t = (await full_flow(other, client, scope="checkins:write"))["access_token"]
        assert (await api(other, "/api/checkins", t, "POST", {"event_id": event_id})).code == 201
    first = (await api(browser, f"/api/events/{event_id}/checkins?limit=1", token)).json()
    second = (await api(browser, f"/api/events/{event_id}/checkins?limit=1&cursor={first['next_cursor']}", token)).json()
    assert [i["username"] for i in first["items"] + second["items"]] == ["bob", "carol"]
