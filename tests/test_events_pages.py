"""Event pages (SPEC §2 `/events`) and public profiles (`/u/NAME`), through their forms."""
from __future__ import annotations

import calendar
import re

import pytest

from gancio_like import clock
from gancio_like.services import accounts, events
from confirm_helpers import ask, confirm
from oauth_helpers import count

DAY = 86400
FORM = {"title": "Picnic", "start_datetime": "2031-06-01T12:30", "end_datetime": "2031-06-01T15:00",
        "place_name": "Park", "place_address": "Green Lane", "description": "Bring food",
        "tags": "Outdoor, food", "published": "true"}


def utc(text: str) -> int:
    return calendar.timegm(tuple(map(int, re.split(r"[-T:]", text))) + (0, 0, 0))


async def add_event(app, owner_id: int, title="Jam", days=1, **fields) -> int:
    data = {"title": title, "start_datetime": clock.now() + int(days * DAY), **fields}
    return (await events.create_event(app.instance, owner_id, data)).id


async def stored(app, event_id: int):
    """The event as its owner sees it, or None once deleted."""
    row = await app.db.fetchone("SELECT owner_id FROM events WHERE id = ?", (event_id,))
    return None if row is None else await events.get_event(app.db, event_id, row["owner_id"])


async def logged_in(make_browser, make_user, name: str):
    user_id = await make_user(name)
    browser = make_browser()
    await browser.login(name)
    return user_id, browser


# -- the list ------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_anyone_sees_upcoming_published_events(app, browser, make_user):
    uid = await make_user("alice")
    await add_event(app, uid, "Later", 2)
    await add_event(app, uid, "Sooner", 1, tags=["jazz"])
    await add_event(app, uid, "Secret", 1, published=False)
    await add_event(app, uid, "Over", -1)
    r = await browser.get("/events")
    assert r.code == 200
    assert r.text.index("Sooner") < r.text.index("Later")
    assert "Secret" not in r.text and "Over" not in r.text and "New event" not in r.text
    assert 'href="/events?tag=jazz"' in r.text and 'href="/u/alice"' in r.text
    r = await browser.get("/events?past=true")
    assert "Over" in r.text and "Sooner" not in r.text


@pytest.mark.gen_test
async def test_logged_in_users_see_new_event_and_their_own_drafts(app, make_browser, make_user):
    alice, browser = await logged_in(make_browser, make_user, "alice")
    _, bobs = await logged_in(make_browser, make_user, "bob")
    await add_event(app, alice, "Alice draft", published=False)
    r = await browser.get("/events")
    assert 'href="/events/new"' in r.text and "Alice draft" in r.text and "Draft" in r.text
    assert "Alice draft" not in (await bobs.get("/events")).text


@pytest.mark.gen_test
async def test_tag_filter_and_next_page(app, browser, make_user):
    uid = await make_user("alice")
    for i in range(22):
        await add_event(app, uid, f"Gig {i:02}", days=1 + i / 100, tags=["music"])
    await add_event(app, uid, "Other", 1, tags=["sport"])
    r = await browser.get("/events?tag=Music")
    assert "Gig 00" in r.text and "Gig 19" in r.text and "Gig 20" not in r.text and "Other" not in r.text
    next_url = re.search(r'href="([^"]+)" rel="next"', r.text).group(1).replace("&amp;", "&")
    assert "tag=Music" in next_url
    r = await browser.get(next_url)
    assert "Gig 20" in r.text and "Gig 21" in r.text and "Gig 19" not in r.text and 'rel="next"' not in r.text


@pytest.mark.gen_test
async def test_a_bad_cursor_is_a_400_page(browser):
    r = await browser.get("/events?cursor=forged")
    assert r.code == 400 and "cursor" in r.text


# -- create --------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_create_through_the_form(app, make_browser, make_user):
    _, browser = await logged_in(make_browser, make_user, "alice")
    page = await browser.get("/events/new")
    assert page.code == 200 and 'type="datetime-local"' in page.text and "UTC" in page.text
    assert 'name="_xsrf"' in page.text
    r = await browser.post("/events/new", FORM)
    assert r.code == 303, r.text
    event_id = int(re.fullmatch(r"/events/(\d+)", r.location).group(1))
    event = await stored(app, event_id)
    assert (event.title, event.owner, event.tags, event.published) == ("Picnic", "alice", ("food", "outdoor"), True)
    assert (event.start_datetime, event.end_datetime) == (utc("2031-06-01T12:30"), utc("2031-06-01T15:00"))
    r = await browser.get(r.location)
    assert r.code == 200 and "Picnic" in r.text and "12:30 UTC" in r.text and "Green Lane" in r.text


@pytest.mark.gen_test
async def test_an_unticked_published_box_makes_a_draft(app, make_browser, make_user):
    _, browser = await logged_in(make_browser, make_user, "alice")
    r = await browser.post("/events/new", {k: v for k, v in FORM.items() if k != "published"})
    assert r.code == 303
    event_id = int(r.location.rsplit("/", 1)[1])
    assert (await stored(app, event_id)).published is False
    assert (await make_browser().get(r.location)).code == 404


@pytest.mark.gen_test
@pytest.mark.parametrize("change,message", [
    ({"title": ""}, "title is required"),
    ({"start_datetime": ""}, "start_datetime is required"),
    ({"start_datetime": "next friday"}, "start_datetime must be a date and time"),
    ({"end_datetime": "2031-06-01T11:00"}, "end_datetime must not be before"),
    ({"tags": ",".join(f"t{i}" for i in range(21))}, "tags: at most 20"),
])
async def test_create_errors_show_the_form_again(app, make_browser, make_user, change, message):
    _, browser = await logged_in(make_browser, make_user, "alice")
    r = await browser.post("/events/new", {**FORM, "place_name": "<b>Park</b>", **change})
    assert r.code == 400 and message in r.text
    assert 'value="&lt;b&gt;Park&lt;/b&gt;"' in r.text  # what was typed stays, escaped
    assert await count(app.db, "events") == 0


@pytest.mark.gen_test
async def test_new_event_needs_login(app, browser):
    r = await browser.get("/events/new")
    assert r.code == 302 and r.location.startswith("/login?next=")
    assert (await browser.post("/events/new", FORM)).code == 403
    assert await count(app.db, "events") == 0


@pytest.mark.gen_test
async def test_posts_without_xsrf_are_forbidden(app, make_browser, make_user):
    alice, browser = await logged_in(make_browser, make_user, "alice")
    event_id = await add_event(app, alice, "Keep")
    for path in ("/events/new", f"/events/{event_id}/edit", f"/events/{event_id}/delete"):
        r = await browser.request("POST", path, {**FORM, "title": "Changed"}, xsrf=False)
        assert r.code == 403, path
    assert await count(app.db, "events") == 1 and (await stored(app, event_id)).title == "Keep"


# -- detail, edit, delete -------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_detail_page(app, make_browser, make_user):
    alice, browser = await logged_in(make_browser, make_user, "alice")
    event_id = await add_event(app, alice, "Talk", description="Line one\nLine two\n\n<script>x</script>")
    r = await make_browser().get(f"/events/{event_id}")
    assert r.code == 200 and "Line one<br>Line two" in r.text and "&lt;script&gt;" in r.text
    assert "/edit" not in r.text and "/delete" not in r.text
    r = await browser.get(f"/events/{event_id}")
    assert f'href="/events/{event_id}/edit"' in r.text and f'action="/events/{event_id}/delete"' in r.text
    assert (await browser.get("/events/424242")).code == 404


@pytest.mark.gen_test
async def test_drafts_are_the_owners_alone(app, make_browser, make_user):
    alice, browser = await logged_in(make_browser, make_user, "alice")
    _, bobs = await logged_in(make_browser, make_user, "bob")
    draft = await add_event(app, alice, "Draft", published=False)
    assert (await browser.get(f"/events/{draft}")).code == 200
    assert (await bobs.get(f"/events/{draft}")).code == 404
    assert (await make_browser().get(f"/events/{draft}")).code == 404
    assert (await bobs.get(f"/events/{draft}/edit")).code == 404


@pytest.mark.gen_test
async def test_edit_through_the_form(app, make_browser, make_user):
    alice, browser = await logged_in(make_browser, make_user, "alice")
    start = utc("2031-06-01T12:30")
    event_id = await add_event(app, alice, "Old", start_datetime=start, tags=["b", "a"])
    page = await browser.get(f"/events/{event_id}/edit")
    assert page.code == 200
    assert page.form_value("title") == "Old" and page.form_value("start_datetime") == "2031-06-01T12:30"
    assert page.form_value("tags") == "a, b" and "checked" in page.text
    r = await browser.post(f"/events/{event_id}/edit", {**FORM, "title": "New", "end_datetime": ""})
    assert r.code == 303 and r.location == f"/events/{event_id}"
    event = await stored(app, event_id)
    assert (event.title, event.end_datetime, event.tags) == ("New", None, ("food", "outdoor"))


@pytest.mark.gen_test
async def test_edit_errors_show_the_form_again(app, make_browser, make_user):
    alice, browser = await logged_in(make_browser, make_user, "alice")
    event_id = await add_event(app, alice, "Old")
    r = await browser.post(f"/events/{event_id}/edit", {**FORM, "title": "x" * 201})
    assert r.code == 400 and "title must be at most 200" in r.text
    assert f'action="/events/{event_id}/edit"' in r.text
    assert (await stored(app, event_id)).title == "Old"


@pytest.mark.gen_test
async def test_others_cannot_edit_or_delete(app, make_browser, make_user):
    alice, _ = await logged_in(make_browser, make_user, "alice")
    _, bobs = await logged_in(make_browser, make_user, "bob")
    event_id = await add_event(app, alice, "Alice's")
    r = await bobs.get(f"/events/{event_id}/edit")
    assert r.code == 403 and "owner" in r.text
    assert (await bobs.post(f"/events/{event_id}/edit", {**FORM, "title": "Bob's"})).code == 403
    assert (await bobs.post(f"/events/{event_id}/delete")).code == 403
    assert (await stored(app, event_id)).title == "Alice's"
    anonymous = make_browser()
    assert (await anonymous.get(f"/events/{event_id}/edit")).code == 302
    assert (await anonymous.post(f"/events/{event_id}/delete")).code == 403
    assert await stored(app, event_id) is not None


@pytest.mark.gen_test
async def test_delete_through_the_form(app, make_browser, make_user):
    alice, browser = await logged_in(make_browser, make_user, "alice")
    event_id = await add_event(app, alice, "Gone soon", tags=["x"])
    r = await confirm(browser, f"/events/{event_id}/delete")
    assert r.code == 303 and r.location == "/events"
    assert await stored(app, event_id) is None and await count(app.db, "event_tags") == 0
    assert (await browser.get(f"/events/{event_id}")).code == 404
    assert (await browser.post(f"/events/{event_id}/delete")).code == 404


@pytest.mark.gen_test
async def test_delete_asks_first(app, make_browser, make_user):
    alice, browser = await logged_in(make_browser, make_user, "alice")
    event_id = await add_event(app, alice, "Kept <b>for now</b>", start_datetime=utc("2031-06-01T12:30"))
    page = await ask(browser, f"/events/{event_id}/delete")
    assert page.question == "Delete “Kept <b>for now</b>”?" and page.cancel == f"/events/{event_id}"
    r = await browser.post(f"/events/{event_id}/delete")
    assert "Kept &lt;b&gt;" in r.text and "<b>for" not in r.text
    assert (await browser.post(f"/events/{event_id}/delete", {"confirm": "YES"})).code == 200
    assert (await stored(app, event_id)).title == "Kept <b>for now</b>"
    assert (await browser.get(f"/events/{event_id}")).code == 200


# -- profiles -------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_profile_shows_the_person_and_their_upcoming_public_events(app, browser, make_user):
    alice = await make_user("alice", display_name="Alice A.")
    bob = await make_user("bob")
    await accounts.update_profile(app.db, alice, "Alice A.", "I like <b>jazz</b>", "jazz, hiking")
    await add_event(app, alice, "Alice gig", 1)
    await add_event(app, alice, "Alice draft", 1, published=False)
    await add_event(app, alice, "Alice past", -1)
    await add_event(app, bob, "Bob gig", 1)
    r = await browser.get("/u/alice")
    assert r.code == 200
    assert "Alice A." in r.text and "@alice" in r.text and "I like &lt;b&gt;jazz&lt;/b&gt;" in r.text
    assert "hiking" in r.text and "Alice gig" in r.text
    assert "Alice draft" not in r.text and "Alice past" not in r.text and "Bob gig" not in r.text


@pytest.mark.gen_test
async def test_profile_pages_on(app, browser, make_user):
    alice = await make_user("alice")
    for i in range(21):
        await add_event(app, alice, f"Gig {i:02}", days=1 + i / 100)
    r = await browser.get("/u/alice")
    next_url = re.search(r'href="([^"]+)" rel="next"', r.text).group(1).replace("&amp;", "&")
    assert next_url.startswith("/u/alice?cursor=")
    r = await browser.get(next_url)
    assert "Gig 20" in r.text and "Gig 19" not in r.text


@pytest.mark.gen_test
async def test_unknown_profile_is_404(browser):
    for path in ("/u/nobody", "/u/Not%20a%20name"):
        r = await browser.get(path)
        assert r.code == 404 and "no such user" in r.text, path
