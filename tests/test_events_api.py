"""`/api/events` (SPEC §4): public reads, `event:read` drafts, `event:write` owner-only writes,
validation, paging."""
from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from gancio_like import clock, notifications
from gancio_like.services import events
from oauth_helpers import api, count, full_flow, register

DAY = 86400
ALL = "profile event:read event:write"
NO_TOKEN_CHALLENGE = 'Bearer realm="fync"'


async def token_for(make_browser, make_user, name: str, scope: str) -> tuple[int, str]:
    """A new user `name` and an access token of theirs with `scope` → (user id, token)."""
    user_id = await make_user(name)
    browser = make_browser()
    await browser.login(name)
    client = await register(browser, scope=ALL)
    return user_id, (await full_flow(browser, client, scope=scope))["access_token"]


async def add_event(app, owner_id: int, title="Jam", days=1, **fields) -> int:
    """An event straight through the service (faster than the API)."""
    data = {"title": title, "start_datetime": clock.now() + days * DAY, **fields}
    return (await events.create_event(app.instance, owner_id, data)).id


def assert_insufficient(r, scope: str):
    assert r.code == 403, r.text
    assert r.json()["error"] == "insufficient_scope" and scope in r.json()["error_description"]
    assert f'scope="{scope}"' in r.headers["WWW-Authenticate"]


def assert_no_token(r):
    assert r.code == 401, r.text
    assert r.headers["WWW-Authenticate"] == NO_TOKEN_CHALLENGE


def assert_invalid(r, field: str):
    assert r.code == 400, r.text
    assert r.json()["error"] == "invalid_request" and field in r.json()["error_description"]


def titles(r) -> list[str]:
    assert r.code == 200, r.text
    return [e["title"] for e in r.json()["items"]]


# -- create ----------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_create_with_event_write_then_anyone_reads_it(app, browser, make_browser, make_user):
    _, tok = await token_for(make_browser, make_user, "alice", "event:write")
    start = clock.now() + DAY
    body = {"title": "  Jazz night ", "description": "Bring\r\nfriends", "start_datetime": start,
            "end_datetime": start + 7200, "place_name": "The Cellar", "place_address": "1 Main St",
            "tags": ["Jazz", "music", "jazz"], "place_id": 7, "multidate": False}
    r = await api(browser, "/api/events", tok, "POST", body)
    assert r.code == 201, r.text
    event = r.json()
    assert event == {"id": event["id"], "title": "Jazz night", "description": "Bring\nfriends",
                     "start_datetime": start, "end_datetime": start + 7200, "place_name": "The Cellar",
                     "place_address": "1 Main St", "tags": ["jazz", "music"], "owner": "alice",
                     "published": True, "timezone": "UTC", "url": f"{app.cfg.issuer}/events/{event['id']}"}
    assert r.headers["Location"] == f"{app.cfg.issuer}/api/events/{event['id']}"
    r = await api(browser, f"/api/events/{event['id']}", None)
    assert r.code == 200 and r.json() == event
    assert titles(await api(browser, "/api/events", None)) == ["Jazz night"]


SAMPLE_PLUGIN = {("plugins", "paths"): [str(Path(__file__).parent / "plugins")], ("plugins", "enabled"): ["sample"]}


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [SAMPLE_PLUGIN])
async def test_plugins_hear_of_created_events_only(app, browser, make_browser, make_user):
    heard = app.plugins.pm.get_plugin("sample").RECORDED
    alice, tok = await token_for(make_browser, make_user, "alice", "event:write")
    r = await api(browser, "/api/events", tok, "POST", {"title": "Told", "start_datetime": clock.now() + DAY})
    assert notifications.EventCreated(event_id=r.json()["id"], owner_id=alice, title="Told") in heard
    before = len(heard)
    await api(browser, "/api/events", tok, "POST", {"title": "", "start_datetime": clock.now() + DAY})
    await api(browser, f"/api/events/{r.json()['id']}", tok, "PUT", {"title": "Retold"})
    assert len(heard) == before


@pytest.mark.gen_test
async def test_create_defaults(browser, make_browser, make_user):
    _, tok = await token_for(make_browser, make_user, "alice", "event:write")
    r = await api(browser, "/api/events", tok, "POST", {"title": "T", "start_datetime": clock.now() + DAY})
    assert r.code == 201, r.text
    e = r.json()
    assert (e["description"], e["end_datetime"], e["place_name"], e["tags"], e["published"]) == ("", None, "", [], True)


@pytest.mark.gen_test
async def test_create_from_a_gancio_style_form(browser, make_browser, make_user):
    _, tok = await token_for(make_browser, make_user, "alice", "event:write")
    start = clock.now() + DAY
    form = [("title", "Form event"), ("start_datetime", str(start)), ("end_datetime", ""),
            ("tags[]", "Punk"), ("tags[]", "DIY"), ("published", "false"), ("place_name", "Squat")]
    r = await browser.request("POST", "/api/events", urllib.parse.urlencode(form), xsrf=False,
                              headers={"Authorization": f"Bearer {tok}",
                                       "Content-Type": "application/x-www-form-urlencoded"})
    assert r.code == 201, r.text
    e = r.json()
    assert (e["start_datetime"], e["end_datetime"], e["tags"], e["published"]) == (start, None, ["diy", "punk"], False)


@pytest.mark.gen_test
async def test_tags_may_be_one_comma_separated_string(browser, make_browser, make_user):
    _, tok = await token_for(make_browser, make_user, "alice", "event:write")
    r = await api(browser, "/api/events", tok, "POST",
                  {"title": "T", "start_datetime": clock.now() + DAY, "tags": " Open  Air, bikes ,,bikes"})
    assert r.code == 201 and r.json()["tags"] == ["bikes", "open air"]


@pytest.mark.gen_test
async def test_create_with_the_wrong_scope_or_no_token(app, browser, make_browser, make_user):
    _, tok = await token_for(make_browser, make_user, "alice", "profile event:read")
    body = {"title": "T", "start_datetime": clock.now() + DAY}
    assert_insufficient(await api(browser, "/api/events", tok, "POST", body), "event:write")
    assert_no_token(await api(browser, "/api/events", None, "POST", body))
    assert await count(app.db, "events") == 0


LONG = "x" * 10_001
BAD_BODIES = [
    ({"start_datetime": 2_000_000_000}, "title"),
    ({"title": "   ", "start_datetime": 2_000_000_000}, "title"),
    ({"title": "x" * 201, "start_datetime": 2_000_000_000}, "title"),
    ({"title": 5, "start_datetime": 2_000_000_000}, "title"),
    ({"title": "a\x00b", "start_datetime": 2_000_000_000}, "title"),
    ({"title": "T"}, "start_datetime"),
    ({"title": "T", "start_datetime": None}, "start_datetime"),
    ({"title": "T", "start_datetime": "tomorrow"}, "start_datetime"),
    ({"title": "T", "start_datetime": 1.5}, "start_datetime"),  # (1.5e9 is a whole number: JSON Schema's integer)
    ({"title": "T", "start_datetime": True}, "start_datetime"),
    ({"title": "T", "start_datetime": -1}, "start_datetime"),
    ({"title": "T", "start_datetime": 10**20}, "start_datetime"),
    ({"title": "T", "start_datetime": 2_000_000_000, "end_datetime": 1_999_999_999}, "end_datetime"),
    ({"title": "T", "start_datetime": 2_000_000_000, "end_datetime": "soon"}, "end_datetime"),
    ({"title": "T", "start_datetime": 2_000_000_000, "description": LONG}, "description"),
    ({"title": "T", "start_datetime": 2_000_000_000, "place_name": "p" * 201}, "place_name"),
    ({"title": "T", "start_datetime": 2_000_000_000, "place_address": ["x"]}, "place_address"),
    ({"title": "T", "start_datetime": 2_000_000_000, "tags": [f"t{i}" for i in range(21)]}, "tags"),
    ({"title": "T", "start_datetime": 2_000_000_000, "tags": ["x" * 41]}, "tags"),
    ({"title": "T", "start_datetime": 2_000_000_000, "tags": [1, 2]}, "tags"),
    ({"title": "T", "start_datetime": 2_000_000_000, "tags": {"a": 1}}, "tags"),
    ({"title": "T", "start_datetime": 2_000_000_000, "published": "maybe"}, "published"),
    ({"title": "T", "start_datetime": 2_000_000_000, "published": 1}, "published"),
]


@pytest.mark.gen_test
@pytest.mark.parametrize("body,field", BAD_BODIES)
async def test_create_validation_names_the_field_and_changes_nothing(app, browser, make_browser, make_user,
                                                                     body, field):
    _, tok = await token_for(make_browser, make_user, "alice", "event:write")
    assert_invalid(await api(browser, "/api/events", tok, "POST", body), field)
    assert await count(app.db, "events") == 0 and await count(app.db, "event_tags") == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"title"'])
async def test_create_with_a_body_that_is_no_json_object(app, browser, make_browser, make_user, raw):
    _, tok = await token_for(make_browser, make_user, "alice", "event:write")
    r = await browser.request("POST", "/api/events", raw, xsrf=False,
                              headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"})
    assert r.code == 400 and r.json()["error"] == "invalid_request"
    assert await count(app.db, "events") == 0


# -- reading and drafts -------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_list_is_upcoming_in_start_order_and_past_on_request(app, browser, make_user):
    uid = await make_user("alice")
    for title, days in (("third", 3), ("first", 1), ("past", -1), ("second", 2), ("long ago", -9)):
        await add_event(app, uid, title, days)
    tie = clock.now() + 2 * DAY
    await add_event(app, uid, "tie b", start_datetime=tie + 60)
    await add_event(app, uid, "tie a", start_datetime=tie + 60)  # same start: the older id first
    assert titles(await api(browser, "/api/events", None)) == ["first", "second", "tie b", "tie a", "third"]
    assert titles(await api(browser, "/api/events?past=true", None)) == ["past", "long ago"]
    assert_invalid(await api(browser, "/api/events?past=perhaps", None), "past")


@pytest.mark.gen_test
async def test_an_event_starting_now_is_upcoming(app, browser, make_user, monkeypatch):
    uid = await make_user("alice")
    now = clock.now()
    await add_event(app, uid, "now", start_datetime=now)
    monkeypatch.setattr(clock, "now", lambda: now)
    assert titles(await api(browser, "/api/events", None)) == ["now"]
    monkeypatch.setattr(clock, "now", lambda: now + 1)
    assert titles(await api(browser, "/api/events", None)) == []


@pytest.mark.gen_test
async def test_unknown_or_overlong_ids_are_404(browser):
    for path in ("/api/events/999", "/api/events/" + "9" * 30, "/api/events/abc"):
        r = await api(browser, path, None)
        assert r.code == 404 and r.json()["error"] == "not_found", path


@pytest.mark.gen_test
async def test_drafts_are_hidden_from_everyone_but_their_owner_with_event_read(app, browser, make_browser,
                                                                             make_user):
    alice, reader = await token_for(make_browser, make_user, "alice", "event:read")
    _, bobs = await token_for(make_browser, make_user, "bob", "event:read")
    draft = await add_event(app, alice, "draft", published=False)
    await add_event(app, alice, "public", days=2)
    assert titles(await api(browser, "/api/events", None)) == ["public"]
    assert titles(await api(browser, "/api/events", bobs)) == ["public"]
    assert titles(await api(browser, "/api/events", reader)) == ["draft", "public"]
    assert (await api(browser, f"/api/events/{draft}", None)).code == 404
    assert (await api(browser, f"/api/events/{draft}", bobs)).code == 404
    r = await api(browser, f"/api/events/{draft}", reader)
    assert r.code == 200 and r.json()["published"] is False


@pytest.mark.gen_test
async def test_own_draft_with_a_token_lacking_event_read_names_the_scope(app, browser, make_browser, make_user):
    alice, writer = await token_for(make_browser, make_user, "alice", "event:write")
    draft = await add_event(app, alice, "draft", published=False)
    assert_insufficient(await api(browser, f"/api/events/{draft}", writer), "event:read")
    assert titles(await api(browser, "/api/events", writer)) == []  # lists leave it out quietly


@pytest.mark.gen_test
async def test_public_reads_still_refuse_a_bad_token(app, browser, make_user):
    await add_event(app, await make_user("alice"))
    r = await api(browser, "/api/events", "not-a-token")
    assert r.code == 401 and r.json()["error"] == "invalid_token"


@pytest.mark.gen_test
async def test_cors_preflight(browser):
    r = await browser.request("OPTIONS", "/api/events/1", headers={"Origin": "https://app.example"})
    assert r.code == 204 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert "PUT" in r.headers["Access-Control-Allow-Methods"]


# -- paging and tags ------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_pages_follow_next_cursor_to_the_end(app, browser, make_user):
    uid = await make_user("alice")
    for i in range(5):
        await add_event(app, uid, f"e{i}", days=i + 1)
    seen, url = [], "/api/events?limit=2"
    while url:
        r = await api(browser, url, None)
        seen.append(titles(r))
        cursor = r.json()["next_cursor"]
        url = f"/api/events?limit=2&cursor={cursor}" if cursor else None
    assert seen == [["e0", "e1"], ["e2", "e3"], ["e4"]]


@pytest.mark.gen_test
async def test_a_cursor_keeps_its_place_while_time_and_rows_move(app, browser, make_user, monkeypatch):
    uid = await make_user("alice")
    now = clock.now()
    for i in range(4):
        await add_event(app, uid, f"e{i}", start_datetime=now + 100 * (i + 1))
    first = (await api(browser, "/api/events?limit=2", None)).json()
    await add_event(app, uid, "earlier", start_datetime=now + 50)  # before the cursor: not repeated
    monkeypatch.setattr(clock, "now", lambda: now + 350)  # e0..e2 have started meanwhile
    r = await api(browser, f"/api/events?limit=2&cursor={first['next_cursor']}", None)
    assert titles(r) == ["e2", "e3"] and r.json()["next_cursor"] is None


@pytest.mark.gen_test
async def test_past_pages_go_back_in_time(app, browser, make_user):
    uid = await make_user("alice")
    for i in range(3):
        await add_event(app, uid, f"p{i}", days=-(i + 1))
    r = await api(browser, "/api/events?past=true&limit=2", None)
    assert titles(r) == ["p0", "p1"]
    r = await api(browser, f"/api/events?past=true&limit=2&cursor={r.json()['next_cursor']}", None)
    assert titles(r) == ["p2"]


@pytest.mark.gen_test
@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
                                         ("cursor=forged", "cursor")])
async def test_bad_limit_or_cursor_is_400(browser, query, field):
    assert_invalid(await api(browser, f"/api/events?{query}", None), field)


@pytest.mark.gen_test
async def test_a_cursor_from_another_list_is_400(app, browser, make_user):
    uid = await make_user("alice")
    for i in range(3):
        await add_event(app, uid, f"e{i}", days=i + 1, tags=["a"])
    cursor = (await api(browser, "/api/events?limit=1", None)).json()["next_cursor"]
    assert_invalid(await api(browser, f"/api/events?tag=a&cursor={cursor}", None), "cursor")
    assert_invalid(await api(browser, f"/api/events?past=true&cursor={cursor}", None), "cursor")
    other = app.cursors.encode({"t": 1, "id": 1})  # signed, but some other list's shape
    assert_invalid(await api(browser, f"/api/events?cursor={other}", None), "cursor")


@pytest.mark.gen_test
async def test_tag_filter_normalises_and_pages(app, browser, make_user):
    uid = await make_user("alice")
    await add_event(app, uid, "a", 1, tags=["Jazz", "blues"])
    await add_event(app, uid, "b", 2, tags=["rock"])
    await add_event(app, uid, "c", 3, tags="jazz")
    assert titles(await api(browser, "/api/events?tag=JAZZ", None)) == ["a", "c"]
    r = await api(browser, "/api/events?tag=jazz&limit=1", None)
    assert titles(r) == ["a"]
    r = await api(browser, f"/api/events?tag=jazz&limit=1&cursor={r.json()['next_cursor']}", None)
    assert titles(r) == ["c"] and r.json()["next_cursor"] is None
    assert titles(await api(browser, "/api/events?tag=" + "x" * 99, None)) == []


# -- update ---------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_owner_updates_some_fields(app, browser, make_browser, make_user):
    alice, tok = await token_for(make_browser, make_user, "alice", "event:write")
    event_id = await add_event(app, alice, "Old", tags=["a"], place_name="Here")
    r = await api(browser, f"/api/events/{event_id}", tok, "PUT", {"title": "New", "tags": "b, c"})
    assert r.code == 200, r.text
    assert (r.json()["title"], r.json()["tags"], r.json()["place_name"]) == ("New", ["b", "c"], "Here")
    assert (await api(browser, f"/api/events/{event_id}", None)).json() == r.json()


@pytest.mark.gen_test
async def test_update_checks_end_against_the_stored_start(app, browser, make_browser, make_user):
    alice, tok = await token_for(make_browser, make_user, "alice", "event:write")
    event_id = await add_event(app, alice, "Old")
    start = (await api(browser, f"/api/events/{event_id}", None)).json()["start_datetime"]
    assert_invalid(await api(browser, f"/api/events/{event_id}", tok, "PUT", {"end_datetime": start - 1}),
                   "end_datetime")
    assert_invalid(await api(browser, f"/api/events/{event_id}", tok, "PUT", {"title": ""}), "title")
    assert_invalid(await api(browser, f"/api/events/{event_id}", tok, "PUT", {"start_datetime": None}),
                   "start_datetime")
    r = await api(browser, f"/api/events/{event_id}", None)
    assert (r.json()["title"], r.json()["end_datetime"]) == ("Old", None)


@pytest.mark.gen_test
async def test_unpublish_and_publish_again(app, browser, make_browser, make_user):
    alice, tok = await token_for(make_browser, make_user, "alice", "event:write")
    event_id = await add_event(app, alice)
    assert (await api(browser, f"/api/events/{event_id}", tok, "PUT", {"published": False})).code == 200
    assert (await api(browser, f"/api/events/{event_id}", None)).code == 404
    r = await api(browser, f"/api/events/{event_id}", tok, "PUT", {"published": True})
    assert r.code == 200 and r.json()["published"] is True


@pytest.mark.gen_test
async def test_update_refusals(app, browser, make_browser, make_user):
    alice, reader = await token_for(make_browser, make_user, "alice", "event:read profile")
    _, bobs = await token_for(make_browser, make_user, "bob", "event:write")
    mine = await add_event(app, alice, "Mine")
    draft = await add_event(app, alice, "Draft", published=False)
    change = {"title": "Hijacked"}
    assert_insufficient(await api(browser, f"/api/events/{mine}", reader, "PUT", change), "event:write")
    assert_no_token(await api(browser, f"/api/events/{mine}", None, "PUT", change))
    r = await api(browser, f"/api/events/{mine}", bobs, "PUT", change)
    assert r.code == 403 and r.json()["error"] == "forbidden"
    # The owner is checked before any rule that reads the event (an end before its start)...
    r = await api(browser, f"/api/events/{mine}", bobs, "PUT", {"end_datetime": 0})
    assert r.code == 403
    # ...while a body the document calls ill-formed says nothing about the event: 400 for anyone.
    r = await api(browser, f"/api/events/{mine}", bobs, "PUT", {"title": 5})
    assert r.code == 400 and '"title"' in r.json()["error_description"]
    assert (await api(browser, f"/api/events/{draft}", bobs, "PUT", change)).code == 404
    assert (await api(browser, "/api/events/424242", bobs, "PUT", change)).code == 404
    assert await count(app.db, "events", "title = 'Hijacked'") == 0


@pytest.mark.gen_test
async def test_update_from_a_form(app, browser, make_browser, make_user):
    alice, tok = await token_for(make_browser, make_user, "alice", "event:write")
    event_id = await add_event(app, alice, "Old")
    r = await browser.request("PUT", f"/api/events/{event_id}", "title=Via+form&tags=x&tags=y", xsrf=False,
                              headers={"Authorization": f"Bearer {tok}",
                                       "Content-Type": "application/x-www-form-urlencoded"})
    assert r.code == 200 and (r.json()["title"], r.json()["tags"]) == ("Via form", ["x", "y"])


# -- delete ---------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_owner_deletes(app, browser, make_browser, make_user):
    alice, tok = await token_for(make_browser, make_user, "alice", "event:write")
    event_id = await add_event(app, alice, tags=["a", "b"])
    r = await api(browser, f"/api/events/{event_id}", tok, "DELETE")
    assert r.code == 204 and r.body == b""
    assert (await api(browser, f"/api/events/{event_id}", None)).code == 404
    assert await count(app.db, "event_tags") == 0
    assert (await api(browser, f"/api/events/{event_id}", tok, "DELETE")).code == 404


@pytest.mark.gen_test
async def test_delete_refusals(app, browser, make_browser, make_user):
    alice, reader = await token_for(make_browser, make_user, "alice", "event:read")
    _, bobs = await token_for(make_browser, make_user, "bob", "event:write")
    mine = await add_event(app, alice)
    assert_insufficient(await api(browser, f"/api/events/{mine}", reader, "DELETE"), "event:write")
    assert_no_token(await api(browser, f"/api/events/{mine}", None, "DELETE"))
    r = await api(browser, f"/api/events/{mine}", bobs, "DELETE")
    assert r.code == 403 and r.json()["error"] == "forbidden"
    assert (await api(browser, "/api/events/424242", bobs, "DELETE")).code == 404
    assert await count(app.db, "events") == 1


@pytest.mark.gen_test
async def test_openapi_describes_the_event_endpoints(browser):
    paths = (await browser.get("/api/openapi.json")).json()["paths"]
    assert paths["/api/events"]["get"]["security"] == []
    assert paths["/api/events"]["post"]["security"] == [{"oauth2": ["event:write"]}]
    assert "201" in paths["/api/events"]["post"]["responses"]
    assert {p["name"] for p in paths["/api/events"]["get"]["parameters"]} == {"limit", "cursor", "tag", "past"}
    one = paths["/api/events/{event_id}"]
    assert one["put"]["security"] == one["delete"]["security"] == [{"oauth2": ["event:write"]}]
    assert "204" in one["delete"]["responses"]
