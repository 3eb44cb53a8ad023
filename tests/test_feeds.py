"""Event feeds (SPEC §6 "Event feeds"): iCalendar read back with icalendar, RSS with
feedparser — what is in them (upcoming published events: drafts, past and remote ones
are not), their tags and time zones, the pages that link them, and conditional GET."""
from __future__ import annotations

from datetime import timedelta
from email.utils import formatdate

import feedparser
import icalendar
import pytest

from gancio_like import clock
from gancio_like.services import events

HOUR, DAY = 3600, 86400
ICS_TYPE, RSS_TYPE = "text/calendar; charset=utf-8", "application/rss+xml; charset=utf-8"


@pytest.fixture
def config_overrides():
    return {("instance", "timezone"): "America/New_York", ("instance", "name"): "Hikers"}


@pytest.fixture
def seeded(app, make_user, db, inst):
    """alice (zone unset) and bob (Asia/Tokyo), with events of every kind → {title: id}."""
    async def seed():
        alice, bob = await make_user("alice"), await make_user("bob")
        await db.execute("UPDATE users SET timezone = 'Asia/Tokyo' WHERE id = ?", (bob,))
        now, made = clock.now(), {}
        for owner, title, start, fields in [
            (alice, "Jazz night", now + DAY, {"end_datetime": now + DAY + 3 * HOUR, "tags": ["jazz", "music"],
                                              "timezone": "Europe/Rome", "place_name": "The Cellar",
                                              "place_address": "1 Via Roma", "description": "Bring friends;\nand chairs"}),
            (bob, "Tokyo walk", now + 2 * DAY, {"tags": ["walks"]}),
            (alice, "Plain", now + 3 * DAY, {}),
            (alice, "Still on", now - DAY, {"end_datetime": now + HOUR, "tags": ["jazz"]}),
            (alice, "Started, no end", now - 2 * HOUR, {}),
            (alice, "Over", now - 2 * DAY, {"end_datetime": now - DAY, "tags": ["jazz"]}),
            (alice, "Long ago, no end", now - 2 * DAY, {}),
            (alice, "Secret draft", now + DAY, {"published": False, "tags": ["jazz"]}),
        ]:
            made[title] = (await events.create_event(inst, owner, {"title": title, "start_datetime": start,
                                                                 **fields})).id
        return made
    return seed


def vevents(body: bytes) -> dict:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


UPCOMING = ["Still on", "Started, no end", "Jazz night", "Tokyo walk", "Plain"]


@pytest.mark.gen_test
async def test_instance_calendar_holds_upcoming_published_events(app, browser, seeded, base_url):
    made = await seeded()
    r = await browser.get("/feed/events.ics")
    assert r.code == 200 and r.headers["Content-Type"] == ICS_TYPE
    found = vevents(r.body)
    assert list(found) == UPCOMING  # in start order; no draft, nothing over
    jazz = found["Jazz night"]
    assert str(jazz["UID"]) == f"event-{made['Jazz night']}@{app.cfg.domain}"
    assert str(jazz["URL"]) == f"{base_url}/events/{made['Jazz night']}"
    assert str(jazz["LOCATION"]) == "The Cellar, 1 Via Roma"
    assert str(jazz["DESCRIPTION"]) == "Bring friends;\nand chairs"
    assert [str(c) for c in jazz["CATEGORIES"].cats] == ["jazz", "music"]
    assert jazz["DTSTAMP"].dt.tzinfo is not None
    # Times in the event's own zone, else its owner's, else the instance's; a VTIMEZONE for each.
    assert jazz["DTSTART"].params["TZID"] == "Europe/Rome"
    assert jazz["DTEND"].dt - jazz["DTSTART"].dt == timedelta(hours=3)
    assert found["Tokyo walk"]["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert "DTEND" not in found["Tokyo walk"]
    assert found["Plain"]["DTSTART"].params["TZID"] == "America/New_York"
    zones = {str(tz["TZID"]) for tz in icalendar.Calendar.from_ical(r.body).walk("VTIMEZONE")}
    assert zones == {"Europe/Rome", "Asia/Tokyo", "America/New_York"}
    assert str(icalendar.Calendar.from_ical(r.body)["X-WR-CALNAME"]) == "Hikers events"


@pytest.mark.gen_test
async def test_times_are_the_events_moments(app, browser, make_user, db, inst):
    alice = await make_user("alice")
    start = clock.now() + DAY
    await events.create_event(inst, alice, {"title": "T", "start_datetime": start, "timezone": "Europe/Rome",
                                          "end_datetime": start + 5400})
    [event] = vevents((await browser.get("/feed/events.ics")).body).values()
    assert event["DTSTART"].dt.timestamp() == start and event["DTEND"].dt.timestamp() == start + 5400
    assert str(event["DTSTART"].dt.tzinfo) == "Europe/Rome"


@pytest.mark.gen_test
async def test_tag_filters_both_feeds(browser, seeded):
    await seeded()
    assert list(vevents((await browser.get("/feed/events.ics?tag=JAZZ")).body)) == ["Still on", "Jazz night"]
    feed = feedparser.parse((await browser.get("/feed/events.rss?tag=jazz")).body)
    assert [e.title for e in feed.entries] == ["Still on", "Jazz night"]
    assert feed.feed.title == "Hikers events tagged #jazz"
    assert list(vevents((await browser.get("/feed/events.ics?tag=nothing")).body)) == []


@pytest.mark.gen_test
async def test_rss_lists_upcoming_events_with_tags_and_zones(browser, seeded, base_url):
    made = await seeded()
    r = await browser.get("/feed/events.rss")
    assert r.code == 200 and r.headers["Content-Type"] == RSS_TYPE
    feed = feedparser.parse(r.body)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "rss20"
    assert [e.title for e in feed.entries] == UPCOMING
    jazz = feed.entries[2]
    assert jazz.link == f"{base_url}/events/{made['Jazz night']}" and jazz.id == jazz.link
    assert [t.term for t in jazz.tags] == ["jazz", "music"]
    assert "CET" in jazz.description or "CEST" in jazz.description  # its time, in Rome's zone, named
    assert "The Cellar, 1 Via Roma" in jazz.description and "Bring friends;<br />and chairs" in jazz.description
    assert "JST" in feed.entries[3].description  # bob's zone


@pytest.mark.gen_test
async def test_person_and_event_calendars(browser, seeded, app):
    made = await seeded()
    assert list(vevents((await browser.get("/u/bob/events.ics")).body)) == ["Tokyo walk"]
    alice = list(vevents((await browser.get("/u/alice/events.ics")).body))
    assert alice == ["Still on", "Started, no end", "Jazz night", "Plain"]
    assert (await browser.get("/u/nobody/events.ics")).code == 404
    r = await browser.get(f"/events/{made['Over']}.ics")  # one event: past or not, it is asked for
    assert r.code == 200 and list(vevents(r.body)) == ["Over"]
    assert (await browser.get(f"/events/{made['Secret draft']}.ics")).code == 404
    assert (await browser.get("/events/999999.ics")).code == 404


@pytest.mark.gen_test
async def test_pages_link_their_feeds(browser, seeded):
    made = await seeded()
    page = (await browser.get("/events")).text
    assert '<link rel="alternate" type="text/calendar"' in page and 'href="/feed/events.ics"' in page
    assert 'type="application/rss+xml"' in page and 'href="/feed/events.rss"' in page
    assert 'href="/feed/events.rss?tag=jazz"' in (await browser.get("/events?tag=jazz")).text
    page = (await browser.get(f"/events/{made['Jazz night']}")).text
    assert f'<link rel="alternate" type="text/calendar" title="Jazz night (iCalendar)" ' \
           f'href="/events/{made["Jazz night"]}.ics">' in page
    assert 'rel="alternate" type="application/activity+json"' in page
    assert 'href="/u/alice/events.ics"' in (await browser.get("/u/alice")).text


@pytest.mark.gen_test
async def test_conditional_get_answers_304_until_the_feed_changes(browser, seeded, db, monkeypatch, inst):
    made = await seeded()
    for path in ("/feed/events.ics", "/feed/events.rss", "/u/alice/events.ics", f"/events/{made['Plain']}.ics"):
        first = await browser.get(path)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        again = await browser.get(path, headers={"If-None-Match": etag})
        assert again.code == 304 and again.body == b"" and again.headers["ETag"] == etag, path
        assert (await browser.get(path, headers={"If-Modified-Since": modified})).code == 304, path
        assert (await browser.get(path, headers={"If-None-Match": '"other"'})).code == 200, path
        # If-None-Match decides when both are sent (RFC 9110 §13.2.2).
        both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
        assert (await browser.get(path, headers=both)).code == 200, path
    first = await browser.get("/feed/events.ics")
    later = clock.now() + 5
    monkeypatch.setattr(clock, "now", lambda: later)
    await events.update_event(inst, made["Plain"], await db.fetchval("SELECT id FROM users WHERE username = 'alice'"),
                              {"title": "Plain, renamed"})
    changed = await browser.get("/feed/events.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.code == 200 and "Plain, renamed" in vevents(changed.body)
    r = await browser.get("/feed/events.ics", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert r.code == 200  # a deletion or an edit changes the body, and so its date


@pytest.mark.gen_test
async def test_a_deleted_event_leaves_the_feed_and_changes_its_validators(browser, seeded, db, monkeypatch, inst):
    made = await seeded()
    first = await browser.get("/feed/events.ics")
    monkeypatch.setattr(clock, "now", lambda t=clock.now() + 5: t)
    alice = await db.fetchval("SELECT id FROM users WHERE username = 'alice'")
    await events.delete_event(inst, made["Plain"], alice)
    r = await browser.get("/feed/events.ics", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert r.code == 200 and "Plain" not in vevents(r.body)
    assert r.headers["ETag"] != first.headers["ETag"]


@pytest.mark.gen_test
async def test_two_versions_within_one_second_never_pass_for_each_other(browser, seeded, db, monkeypatch, inst):
    """HTTP dates have whole seconds: a second version made in the same second must not be
    taken as the first by If-Modified-Since."""
    made = await seeded()
    frozen = clock.now()
    monkeypatch.setattr(clock, "now", lambda: frozen)
    first = await browser.get("/u/alice/events.ics")
    alice = await db.fetchval("SELECT id FROM users WHERE username = 'alice'")
    await events.delete_event(inst, made["Plain"], alice)
    second = await browser.get("/u/alice/events.ics")
    assert second.headers["Last-Modified"] == first.headers["Last-Modified"] == formatdate(frozen, usegmt=True)
    r = await browser.get("/u/alice/events.ics", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert r.code == 200 and "Plain" not in vevents(r.body)
