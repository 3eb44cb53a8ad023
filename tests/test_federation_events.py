"""Events across instances (SPEC §6), on two live instances over real HTTP: a friend's
event arrives, is updated and is deleted; only its author may change it; the events
actor takes a Follow from a test actor and delivers it a Create(Event); an Undo ends
that. Also: GET /events/ID as ActivityStreams, WebFinger and NodeInfo for the actor."""
from __future__ import annotations

import json

import pytest

from federation_helpers import Instance, eventually, follow, signed_post
from gancio_like import clock
from gancio_like.services import event_federation, events
from test_federation import all_delivered, befriend

SLOW = pytest.mark.gen_test(timeout=90)
AP = "application/activity+json"
DAY = 86400


@pytest.fixture
def instances(io_loop, tmp_path):
    made = []

    async def make(name: str, start_worker: bool = True) -> Instance:
        instance = await Instance(tmp_path / name).open()
        made.append(instance)
        if start_worker:
            instance.start_worker()
        return instance
    yield make
    for instance in made:
        io_loop.run_sync(instance.dispose)


@pytest.fixture
def friends(instances):
    """alice on A and bob on B, friends; both workers running."""
    async def make():
        a, b = await instances("a"), await instances("b")
        alice, bob = await a.person("alice"), await b.person("bob")
        await befriend(alice, bob)
        return alice, bob
    return make


async def remote_titles(person) -> list[str]:
    rows = await person.instance.db.fetchall("SELECT title FROM remote_events ORDER BY start_datetime")
    return [r[0] for r in rows]


async def delivered_types(instance) -> list[str]:
    rows = await instance.db.fetchall("SELECT activity FROM deliveries WHERE delivered_at IS NOT NULL ORDER BY id")
    return [json.loads(r[0])["type"] for r in rows]


@SLOW
async def test_a_friends_event_arrives_is_updated_and_deleted(friends):
    alice, bob = await friends()
    start = clock.now() + DAY
    event = await events.create_event(alice.instance.inst, alice.id, {
        "title": "Jazz night", "start_datetime": start, "end_datetime": start + 7200, "timezone": "Europe/Rome",
        "description": "Bring <friends>\nand chairs", "place_name": "The Cellar", "place_address": "1 Via Roma",
        "tags": ["jazz", "live music"]})
    await eventually(lambda: remote_titles(bob))
    [row] = await bob.instance.db.fetchall("SELECT * FROM remote_events")
    assert (row["acct"], row["uri"], row["url"]) == (alice.acct, f"{alice.instance.base}/events/{event.id}",
                                                      f"{alice.instance.base}/events/{event.id}")
    assert (row["start_datetime"], row["end_datetime"], row["timezone"]) == (start, start + 7200, "Europe/Rome")
    assert row["description"] == "Bring <friends>\nand chairs"
    assert (row["place_name"], row["place_address"]) == ("The Cellar", "1 Via Roma")
    assert row["tags"].split("\x1f") == ["jazz", "live music"]
    page = (await bob.browser.get("/events")).text
    assert "From friends on other instances" in page and "Jazz night" in page
    assert f"from their instance, <a href=\"{alice.instance.base}/events/{event.id}\"" in page
    shown = (await bob.browser.get(f"/events/remote/{row['id']}")).text
    assert f"From their instance, {alice.instance.domain}" in shown and "Bring &lt;friends&gt;<br>and chairs" in shown

    await events.update_event(alice.instance.inst, event.id, alice.id, {"title": "Jazz night, moved", "tags": "jazz"})
    await eventually(lambda: _titles_are(bob, ["Jazz night, moved"]))
    assert (await bob.instance.db.fetchval("SELECT tags FROM remote_events")) == "jazz"

    await events.delete_event(alice.instance.inst, event.id, alice.id)
    await eventually(lambda: _titles_are(bob, []))
    await eventually(lambda: all_delivered(alice.instance))
    assert await delivered_types(alice.instance) == ["Follow", "Accept", "Create", "Update", "Delete"]
    assert (await bob.browser.get(f"/events/remote/{row['id']}")).code == 404


@SLOW
async def test_a_new_friends_event_reaches_the_notification_seam_once(friends, monkeypatch):
    """`friend_event` goes through on_remote_event_created, in the storing transaction, for
    each local friend of the author: on the Create, not on its Update."""
    told = []

    async def record(tx, user_ids, author, event_id, url):
        told.append((user_ids, author.acct, event_id, url))
    monkeypatch.setattr(event_federation, "on_remote_event_created", record)
    alice, bob = await friends()
    event = await events.create_event(alice.instance.inst, alice.id, {"title": "Jam", "start_datetime": clock.now() + DAY})
    await eventually(lambda: remote_titles(bob))
    await events.update_event(alice.instance.inst, event.id, alice.id, {"title": "Jam!"})
    await eventually(lambda: _titles_are(bob, ["Jam!"]))
    stored = await bob.instance.db.fetchval("SELECT id FROM remote_events")
    assert told == [([bob.id], alice.acct, stored, f"{alice.instance.base}/events/{event.id}")]


async def _titles_are(person, titles) -> bool:
    return await remote_titles(person) == titles


@SLOW
async def test_drafts_send_nothing_and_unpublishing_deletes(friends):
    alice, bob = await friends()
    queued = await alice.instance.count("SELECT count(*) FROM deliveries")
    draft = await events.create_event(alice.instance.inst, alice.id, {"title": "Draft", "published": False,
                                                                    "start_datetime": clock.now() + DAY})
    await events.update_event(alice.instance.inst, draft.id, alice.id, {"title": "Still a draft"})
    assert await alice.instance.count("SELECT count(*) FROM deliveries") == queued
    await events.update_event(alice.instance.inst, draft.id, alice.id, {"published": True})
    await eventually(lambda: _titles_are(bob, ["Still a draft"]))
    await events.update_event(alice.instance.inst, draft.id, alice.id, {"published": False})
    await eventually(lambda: _titles_are(bob, []))


@SLOW
async def test_only_the_author_may_update_or_delete(friends):
    alice, bob = await friends()
    carol = await alice.instance.person("carol")  # on alice's instance, not the author
    event = await events.create_event(alice.instance.inst, alice.id, {"title": "Mine", "start_datetime": clock.now() + DAY})
    await eventually(lambda: remote_titles(bob))
    uri = f"{alice.instance.base}/events/{event.id}"
    forged = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Update", "actor": carol.actor,
              "id": f"{alice.instance.base}/activities/forged-update",
              "object": {"id": uri, "type": "Event", "name": "Hijacked", "attributedTo": carol.actor,
                         "startTime": "2030-01-01T10:00:00Z"}}
    r = await signed_post(carol, f"{bob.instance.base}/inbox", forged)
    assert r.code == 403 and "author" in r.json()["error_description"], r.text
    delete = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Delete", "actor": carol.actor,
              "id": f"{alice.instance.base}/activities/forged-delete", "object": {"id": uri, "type": "Tombstone"}}
    r = await signed_post(carol, f"{bob.instance.base}/inbox", delete)
    assert r.code == 403, r.text
    assert await remote_titles(bob) == ["Mine"]
    assert not await bob.instance.count("SELECT count(*) FROM inbox_seen WHERE activity_id LIKE '%forged%'")


@SLOW
async def test_events_from_strangers_are_not_kept(instances):
    a, b = await instances("a", start_worker=False), await instances("b")
    stranger, bob = await a.person("stranger"), await b.person("bob")
    create = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Create", "actor": stranger.actor,
              "id": f"{a.base}/activities/spam", "object": {
                  "id": f"{a.base}/events/1", "type": "Event", "name": "Spam", "attributedTo": stranger.actor,
                  "startTime": "2030-01-01T10:00:00+01:00"}}
    r = await signed_post(stranger, f"{b.base}/inbox", create)
    assert r.code == 202
    assert await remote_titles(bob) == []


@SLOW
async def test_the_events_actor_takes_a_follow_and_delivers_events(instances):
    """carol, on A, plays any fediverse account following events@B."""
    a, b = await instances("a"), await instances("b")
    carol, bob = await a.person("carol"), await b.person("bob")
    events_actor = f"{b.base}/actor/events"
    request = {**follow(carol, bob), "object": events_actor}
    r = await signed_post(carol, f"{events_actor}/inbox", request)
    assert r.code == 202, r.text
    assert await b.count("SELECT count(*) FROM event_followers") == 1
    await eventually(lambda: all_delivered(b))
    [accept] = [json.loads(r[0]) for r in await b.db.fetchall("SELECT activity FROM deliveries")]
    assert accept["type"] == "Accept" and accept["actor"] == events_actor
    assert accept["object"]["id"] == request["id"]
    # A checked the events actor's signature, fetching its document and key from B.
    assert await a.count("SELECT count(*) FROM remote_actors WHERE uri = ?", (events_actor,)) == 1

    event = await events.create_event(b.inst, bob.id, {"title": "Open air", "start_datetime": clock.now() + DAY,
                                                     "tags": ["outdoors"]})
    await eventually(lambda: all_delivered(b))
    rows = await b.db.fetchall("SELECT user_id, recipient, inbox, activity FROM deliveries ORDER BY id")
    create = json.loads(rows[-1]["activity"])
    assert rows[-1]["user_id"] is None and rows[-1]["recipient"] == carol.acct
    assert rows[-1]["inbox"] == f"{carol.actor}/inbox"
    assert create["type"] == "Create" and create["actor"] == events_actor
    assert create["object"]["id"] == f"{b.base}/events/{event.id}" and create["object"]["name"] == "Open air"
    assert create["object"]["attributedTo"] == bob.actor
    assert create["object"]["tag"] == [{"type": "Hashtag", "name": "#outdoors", "href": f"{b.base}/events?tag=outdoors"}]

    undo = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Undo", "actor": carol.actor,
            "id": f"{a.base}/activities/undo-1", "object": request}
    assert (await signed_post(carol, f"{b.base}/inbox", undo)).code == 202
    assert await b.count("SELECT count(*) FROM event_followers") == 0
    queued = await b.count("SELECT count(*) FROM deliveries")
    await events.create_event(b.inst, bob.id, {"title": "After", "start_datetime": clock.now() + DAY})
    assert await b.count("SELECT count(*) FROM deliveries") == queued


@pytest.mark.gen_test
async def test_event_page_answers_activitystreams_to_who_asks(app, browser, make_user, db, base_url, inst):
    alice = await make_user("alice")
    event = await events.create_event(inst, alice, {"title": "Jam", "start_datetime": 1906804800,
                                                  "timezone": "Europe/Rome", "end_datetime": 1906812000})
    draft = await events.create_event(inst, alice, {"title": "D", "start_datetime": 1906804800, "published": False})
    for accept in (AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'):
        r = await browser.get(f"/events/{event.id}", headers={"Accept": accept})
        assert r.code == 200 and r.headers["Content-Type"] == AP and "Accept" in r.headers["Vary"]
        doc = r.json()
        assert doc["id"] == doc["url"] == f"{base_url}/events/{event.id}" and doc["type"] == "Event"
        assert doc["startTime"] == "2030-06-04T14:00:00+02:00" and doc["endTime"] == "2030-06-04T16:00:00+02:00"
        assert doc["timezone"] == "Europe/Rome" and doc["attributedTo"] == f"{base_url}/users/alice"
        assert doc["summary"] == "Tue 4 Jun 2030, 14:00 CEST – Tue 4 Jun 2030, 16:00 CEST"
    assert (await browser.get(f"/events/{draft.id}", headers={"Accept": AP})).code == 404
    assert "<h1>Jam</h1>" in (await browser.get(f"/events/{event.id}")).text


@pytest.mark.gen_test
async def test_the_events_actor_is_found_by_webfinger_and_nodeinfo(app, browser, base_url, make_user):
    r = await browser.get(f"/.well-known/webfinger?resource=acct:events@{app.cfg.domain}")
    assert r.code == 200, r.text
    [self_link] = [link for link in r.json()["links"] if link["rel"] == "self"]
    assert self_link["href"] == f"{base_url}/actor/events"
    r = await browser.get(f"/.well-known/webfinger?resource={base_url}/actor/events")
    assert r.json()["subject"] == f"acct:events@{app.cfg.domain}"
    doc = (await browser.get("/actor/events", headers={"Accept": AP})).json()
    assert doc["type"] == "Application" and doc["preferredUsername"] == "events"
    assert doc["manuallyApprovesFollowers"] is False and doc["publicKey"]["owner"] == doc["id"]
    assert (await browser.get("/actor/events")).location == "/events"
    signup = await browser.post("/signup", {"username": "events", "password": "correct horse battery"})
    assert signup.code == 400 and "reserved" in signup.text
