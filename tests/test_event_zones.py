"""Event time zones in the API (SPEC §4): every event carries `timezone` — its own,
else its owner's, else the instance's `[instance] timezone` — and `url`; POST and PUT
take an optional IANA `timezone` and refuse anything else with a 400 that names it."""
from __future__ import annotations

import pytest

from gancio_like import clock
from oauth_helpers import api
from test_events_api import DAY, add_event, assert_invalid, token_for


@pytest.fixture
def config_overrides():
    return {("instance", "timezone"): "America/New_York"}


@pytest.mark.gen_test
async def test_zone_falls_back_from_event_to_owner_to_instance(app, browser, make_browser, make_user, db):
    alice, _ = await token_for(make_browser, make_user, "alice", "event:write")
    plain = await add_event(app, alice, "Plain")
    own = await add_event(app, alice, "Own zone", timezone="Asia/Tokyo")
    r = await api(browser, f"/api/events/{plain}", None)
    assert r.json()["timezone"] == "America/New_York"  # the instance's
    assert r.json()["url"] == f"{app.cfg.issuer}/events/{plain}"
    await db.execute("UPDATE users SET timezone = 'Europe/Rome' WHERE id = ?", (alice,))
    assert (await api(browser, f"/api/events/{plain}", None)).json()["timezone"] == "Europe/Rome"
    assert (await api(browser, f"/api/events/{own}", None)).json()["timezone"] == "Asia/Tokyo"
    listed = {e["title"]: e["timezone"] for e in (await api(browser, "/api/events", None)).json()["items"]}
    assert listed == {"Plain": "Europe/Rome", "Own zone": "Asia/Tokyo"}


@pytest.mark.gen_test
async def test_post_and_put_take_a_zone(app, browser, make_browser, make_user):
    _, tok = await token_for(make_browser, make_user, "alice", "event:write")
    body = {"title": "Jam", "start_datetime": clock.now() + DAY, "timezone": "Europe/Rome"}
    r = await api(browser, "/api/events", tok, "POST", body)
    assert r.code == 201 and r.json()["timezone"] == "Europe/Rome", r.text
    event_id = r.json()["id"]
    r = await api(browser, f"/api/events/{event_id}", tok, "PUT", {"timezone": "Asia/Tokyo"})
    assert r.code == 200 and r.json()["timezone"] == "Asia/Tokyo"
    r = await api(browser, f"/api/events/{event_id}", tok, "PUT", {"timezone": ""})
    assert r.code == 200 and r.json()["timezone"] == "America/New_York"  # back to the owner's (unset)


@pytest.mark.gen_test
@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/rome", "Europe/Rome ", "../etc/passwd", 5])
async def test_a_zone_that_is_no_iana_name_is_refused(app, browser, make_browser, make_user, zone):
    alice, tok = await token_for(make_browser, make_user, "alice", "event:write")
    body = {"title": "Jam", "start_datetime": clock.now() + DAY, "timezone": zone}
    assert_invalid(await api(browser, "/api/events", tok, "POST", body), "timezone")
    event_id = await add_event(app, alice)
    assert_invalid(await api(browser, f"/api/events/{event_id}", tok, "PUT", {"timezone": zone}), "timezone")
    r = await api(browser, f"/api/events/{event_id}", None)
    assert r.json()["timezone"] == "America/New_York"
    assert len((await api(browser, "/api/events", None)).json()["items"]) == 1  # nothing else was made
