"""Local time on the pages (SPEC §2 "More about accounts"): a person's IANA zone on
/settings (the instance's `[instance] timezone` by default), times shown in the viewer's
zone with the zone named, and event forms that take local date and time in it."""
from __future__ import annotations

import pytest

SUMMER_NOON_UTC = 1906804800  # Tue 4 Jun 2030, 12:00 UTC


@pytest.fixture
def config_overrides():
    return {("instance", "timezone"): "Europe/Rome"}


async def event_at(db, owner_id: int, start: int, end: int | None = None, zone: str = "") -> int:
    return await db.fetchval(
        "INSERT INTO events (owner_id, title, description, start_datetime, end_datetime, place_name, "
        "place_address, published, created_at, updated_at, timezone) "
        "VALUES (?, 'Picnic', '', ?, ?, '', '', 1, 0, 0, ?) RETURNING id", (owner_id, start, end, zone))


@pytest.mark.gen_test
async def test_visitors_see_the_instance_zone_named(browser, make_user, db):
    alice = await make_user("alice")
    event_id = await event_at(db, alice, SUMMER_NOON_UTC, SUMMER_NOON_UTC + 7200)
    page = (await browser.get(f"/events/{event_id}")).text
    assert "Tue 4 Jun 2030, 14:00 CEST" in page and "16:00 CEST" in page
    assert "Tue 4 Jun 2030, 14:00 CEST" in (await browser.get("/events")).text
    assert "14:00 CEST" in (await browser.get("/u/alice")).text
    assert "14:00 CEST" in (await browser.get("/")).text  # the welcome's coming events


@pytest.mark.gen_test
async def test_a_person_sees_their_own_zone(browser, make_user, db):
    alice = await make_user("alice")
    await db.execute("UPDATE users SET timezone = 'America/New_York' WHERE id = ?", (alice,))
    event_id = await event_at(db, alice, SUMMER_NOON_UTC)
    await browser.login("alice")
    assert "Tue 4 Jun 2030, 08:00 EDT" in (await browser.get(f"/events/{event_id}")).text
    assert "08:00 EDT" in (await browser.get("/")).text


@pytest.mark.gen_test
async def test_settings_take_a_zone_and_refuse_a_bad_one(browser, make_user, db):
    await make_user("alice")
    await browser.login("alice")
    page = (await browser.get("/settings")).text
    assert "This instance&#x27;s: Europe/Rome" in page and "<option>Asia/Tokyo</option>" in page
    resp = await browser.post("/settings", {"display_name": "Alice", "bio": "", "interests": "",
                                            "timezone": "Asia/Tokyo"})
    assert resp.code == 303
    assert await db.fetchval("SELECT timezone FROM users WHERE username = 'alice'") == "Asia/Tokyo"
    assert "<option selected>Asia/Tokyo</option>" in (await browser.get("/settings")).text
    for bad in ("Mars/Olympus", "asia/tokyo", "../../etc/passwd", "Asia/Tokyo/Shibuya", "x" * 5000):
        resp = await browser.post("/settings", {"display_name": "Mallory", "bio": "", "interests": "",
                                                "timezone": bad})
        assert resp.code == 400 and "time zone" in resp.text, bad
    assert await db.fetchval("SELECT display_name || ' ' || timezone FROM users WHERE username = 'alice'") == \
        "Alice Asia/Tokyo"
    await browser.post("/settings", {"display_name": "Alice", "bio": "", "interests": "", "timezone": ""})
    assert await db.fetchval("SELECT timezone FROM users WHERE username = 'alice'") == ""


@pytest.mark.gen_test
async def test_a_form_without_the_zone_field_leaves_it_as_it_was(browser, make_user, db):
    """An older form (or a script) posting only the profile fields keeps zone and email."""
    alice = await make_user("alice")
    await db.execute("UPDATE users SET timezone = 'Asia/Tokyo', email = 'a@example.org' WHERE id = ?", (alice,))
    await browser.login("alice")
    assert (await browser.post("/settings", {"display_name": "A", "bio": "", "interests": ""})).code == 303
    row = await db.fetchone("SELECT timezone, email FROM users WHERE id = ?", (alice,))
    assert (row["timezone"], row["email"]) == ("Asia/Tokyo", "a@example.org")


@pytest.mark.gen_test
async def test_event_forms_take_local_time_in_the_persons_zone(browser, make_user, db):
    alice = await make_user("alice")
    await db.execute("UPDATE users SET timezone = 'America/New_York' WHERE id = ?", (alice,))
    await browser.login("alice")
    form = await browser.get("/events/new")
    assert "Starts (America/New_York)" in form.text
    resp = await browser.post("/events/new", {"title": "Picnic", "start_datetime": "2030-06-04T08:00",
                                              "end_datetime": "2030-06-04T10:30", "published": "true"})
    assert resp.code == 303
    row = await db.fetchone("SELECT id, start_datetime, end_datetime, timezone FROM events")
    assert (row["start_datetime"], row["end_datetime"]) == (SUMMER_NOON_UTC, SUMMER_NOON_UTC + 9000)
    assert row["timezone"] == "America/New_York"
    edit = await browser.get(f"/events/{row['id']}/edit")
    assert edit.form_value("start_datetime") == "2030-06-04T08:00"
    # Someone who reads it from Rome sees it at their own time.
    await db.execute("UPDATE users SET timezone = 'Europe/Rome' WHERE id = ?", (alice,))
    assert "Tue 4 Jun 2030, 14:00 CEST" in (await browser.get(f"/events/{row['id']}")).text


@pytest.mark.gen_test
async def test_a_time_in_the_dst_gap_and_a_bad_time(browser, make_user, db):
    alice = await make_user("alice")
    await db.execute("UPDATE users SET timezone = 'Europe/Rome' WHERE id = ?", (alice,))
    await browser.login("alice")
    # 02:30 does not exist in Rome on 31 March 2030: read as the earlier offset, as calendars do.
    resp = await browser.post("/events/new", {"title": "Odd", "start_datetime": "2030-03-31T02:30"})
    assert resp.code == 303
    resp = await browser.post("/events/new", {"title": "Bad", "start_datetime": "the fourth of June"})
    assert resp.code == 400 and "start_datetime must be a date and time" in resp.text


@pytest.mark.gen_test
async def test_the_friends_page_dates_are_local(browser, make_user, db):
    alice, bob = await make_user("alice"), await make_user("bob")
    await db.execute("UPDATE users SET timezone = 'Pacific/Auckland' WHERE id = ?", (alice,))
    for me, other in ((alice, bob), (bob, alice)):
        await db.execute("INSERT INTO friendships (user_id, friend_id, since) VALUES (?, ?, ?)",
                         (me, other, SUMMER_NOON_UTC - 12 * 3600 - 1))  # 3 Jun 23:59:59 UTC
    await browser.login("alice")
    page = (await browser.get("/friends")).text
    assert "4 Jun 2030</time>" in page and 'datetime="2030-06-04T11:59:59+12:00"' in page
