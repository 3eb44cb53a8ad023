"""Notifications (SPEC §4 `/api/notifications`, §2 the header and the page): what is
recorded when, in the transaction of its cause; order, paging and read marking;
privacy between people; the page and the header's count; and a friend request that
comes from another instance."""
from __future__ import annotations

import pytest

from gancio_like.avatars import avatar_url, remote_avatar_url
from gancio_like.services import notify
from oauth_helpers import api, full_flow, register

SCOPES = "profile friends:read friends:write event:write notifications"


class Person:
    """A user with a logged-in browser and a token holding SCOPES (or the one asked for)."""

    def __init__(self, browser, user_id: int, name: str, client: dict):
        self.browser, self.id, self.name, self.client = browser, user_id, name, client
        self.tokens: dict[str, str] = {}

    async def token(self, scope: str = SCOPES) -> str:
        if scope not in self.tokens:
            self.tokens[scope] = (await full_flow(self.browser, self.client, scope=scope))["access_token"]
        return self.tokens[scope]

    async def call(self, path: str, method="GET", body=None, scope: str = SCOPES):
        return await api(self.browser, path, await self.token(scope), method=method, body=body)

    async def notifications(self, query: str = "") -> dict:
        r = await self.call(f"/api/notifications{query}")
        assert r.code == 200, r.text
        return r.json()

    async def ask(self, other: "Person") -> int:
        r = await self.call("/api/friends/requests", "POST", {"to": other.name})
        assert r.code == 201, r.text
        return r.json()["id"]

    async def befriend(self, other: "Person") -> None:
        request_id = await self.ask(other)
        assert (await other.call(f"/api/friends/requests/{request_id}/accept", "POST")).code == 200


@pytest.fixture
def person(make_browser, make_user):
    async def make(name: str, display_name: str = "") -> Person:
        browser = make_browser()
        user_id = await make_user(name, display_name=display_name)
        await browser.login(name)
        return Person(browser, user_id, name, await register(browser, scope=SCOPES))
    return make


def kinds(page: dict) -> list[tuple[str, str]]:
    return [(n["type"], n["actor"]["acct"].partition("@")[0]) for n in page["items"]]


# -- what is recorded ---------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_a_request_tells_its_recipient_and_an_answer_its_sender(person, base_url):
    alice, bob = await person("alice", "Alice A."), await person("bob")
    request_id = await alice.ask(bob)
    [item] = (await bob.notifications())["items"]
    assert item["type"] == "friend_request" and item["object"] == request_id and item["read"] is False
    host = base_url.split("//")[1]
    assert item["actor"] == {"acct": f"alice@{host}", "display_name": "Alice A.",
                             "avatar": avatar_url(base_url, "alice", 0)}
    assert item["url"] == f"{base_url}/friends" and "Alice A." in item["body"]
    assert (await alice.notifications())["items"] == []  # nobody is told of what they did
    assert (await bob.call(f"/api/friends/requests/{request_id}/accept", "POST")).code == 200
    [accepted] = (await alice.notifications())["items"]
    assert accepted["type"] == "friend_accepted" and accepted["actor"]["acct"] == f"bob@{host}"
    assert accepted["url"] == f"{base_url}/u/bob" and accepted["object"] == request_id
    assert kinds(await bob.notifications()) == [("friend_request", "alice")]


@pytest.mark.gen_test
async def test_asking_someone_who_asked_you_tells_them_it_is_accepted(person):
    alice, bob = await person("alice"), await person("bob")
    await alice.ask(bob)
    await bob.ask(alice)  # an instant yes
    assert kinds(await alice.notifications()) == [("friend_accepted", "bob")]
    assert kinds(await bob.notifications()) == [("friend_request", "alice")]


@pytest.mark.gen_test
async def test_declined_cancelled_and_refused_requests_tell_nobody_more(person):
    alice, bob = await person("alice"), await person("bob")
    request_id = await alice.ask(bob)
    assert (await alice.call("/api/friends/requests", "POST", {"to": "bob"})).code == 409  # a second: refused
    assert (await bob.call(f"/api/friends/requests/{request_id}/decline", "POST")).code == 200
    assert kinds(await bob.notifications()) == [("friend_request", "alice")]
    assert (await alice.notifications())["items"] == []


@pytest.mark.gen_test
async def test_published_events_tell_each_local_friend_once(person):
    alice, bob, carol, dan = [await person(n) for n in ("alice", "bob", "carol", "dan")]
    await alice.befriend(bob)
    await carol.befriend(alice)
    event = {"title": "Picnic", "start_datetime": 4102444800}
    r = await alice.call("/api/events", "POST", event)
    assert r.code == 201
    event_id = r.json()["id"]
    for friend in (bob, carol):
        items = (await friend.notifications())["items"]
        assert [(n["type"], n["object"]) for n in items if n["type"] == "friend_event"] == [("friend_event", event_id)]
        assert items[0]["title"] == "New event from alice" and items[0]["body"].startswith("Picnic, ")
        assert items[0]["url"].endswith(f"/events/{event_id}")
    assert (await dan.notifications())["items"] == []
    assert [n for n in (await alice.notifications())["items"] if n["type"] == "friend_event"] == []
    # An edit tells nobody; unpublishing and publishing again tells nobody twice.
    for change in ({"title": "Picnic!"}, {"published": False}, {"published": True}):
        assert (await alice.call(f"/api/events/{event_id}", "PUT", change)).code == 200
    assert len([n for n in (await bob.notifications())["items"] if n["type"] == "friend_event"]) == 1


@pytest.mark.gen_test
async def test_a_draft_tells_nobody_until_it_is_published(person):
    alice, bob = await person("alice"), await person("bob")
    await alice.befriend(bob)
    r = await alice.call("/api/events", "POST", {"title": "Secret", "start_datetime": 4102444800, "published": False})
    event_id = r.json()["id"]
    assert [n["type"] for n in (await bob.notifications())["items"]] == ["friend_request"]
    assert (await alice.call(f"/api/events/{event_id}", "PUT", {"published": True})).code == 200
    assert [n["type"] for n in (await bob.notifications())["items"]] == ["friend_event", "friend_request"]


@pytest.mark.gen_test
async def test_a_notification_is_stored_with_its_cause_or_not_at_all(person, db, monkeypatch):
    """Same transaction: if recording fails, the friend request is not stored either."""
    alice, bob = await person("alice"), await person("bob")

    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(notify, "record", broken)
    with pytest.raises(Exception):
        await alice.ask(bob)
    assert await db.fetchval("SELECT count(*) FROM friend_requests") == 0
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0


@pytest.mark.gen_test
async def test_record_refuses_a_callers_mistakes(db, make_user):
    user_id = await make_user("alice")
    async with db.transaction() as tx:
        for bad in ({"type": "Bad Type"}, {"actor": "no-domain"}, {"actor": 2.5}, {"url": "javascript:alert(1)"}):
            args = {"type": "friend_request", "actor": "bob@other.example", "url": "/friends", **bad}
            with pytest.raises(ValueError):
                await notify.record(tx, user_id, args["type"], args["actor"], None, args["url"])
        assert await notify.record(tx, user_id, "friend_request", user_id) is None
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0


# -- reading --------------------------------------------------------------------------------------

async def many(db, user_id: int, count: int) -> list[int]:
    async with db.transaction() as tx:
        return [await notify.record(tx, user_id, "friend_request", f"p{i}@other.example", i, "/friends")
                for i in range(count)]


@pytest.mark.gen_test
async def test_newest_first_in_pages(person, db, base_url, app):
    alice = await person("alice")
    ids = await many(db, alice.id, 7)
    first = await alice.notifications("?limit=3")
    assert [n["id"] for n in first["items"]] == ids[::-1][:3] and first["unread"] == 7
    second = await alice.notifications(f"?limit=3&cursor={first['next_cursor']}")
    third = await alice.notifications(f"?limit=3&cursor={second['next_cursor']}")
    assert [n["id"] for n in second["items"] + third["items"]] == ids[::-1][3:]
    assert third["next_cursor"] is None
    remote = first["items"][0]["actor"]
    assert remote == {"acct": "p6@other.example", "display_name": "", "avatar": remote_avatar_url(base_url, "p6@other.example")}
    for bad in ("?limit=0", "?limit=101", "?cursor=forged", "?limit=2&limit=3"):
        r = await alice.call(f"/api/notifications{bad}")
        assert r.code == 400 and r.json()["error"] == "invalid_request", bad
    friends_cursor = app.cursors.encode({"since": 5, "id": 6})  # validly signed, from another list
    assert (await alice.call(f"/api/notifications?cursor={friends_cursor}")).code == 400


@pytest.mark.gen_test
async def test_read_marks_up_to_an_id(person, db):
    alice = await person("alice")
    ids = await many(db, alice.id, 5)
    r = await alice.call("/api/notifications/read", "POST", {"up_to": ids[2]})
    assert r.code == 200 and r.json() == {"marked": 3, "unread": 2}
    page = await alice.notifications()
    assert [n["read"] for n in page["items"]] == [False, False, True, True, True] and page["unread"] == 2
    assert (await alice.call("/api/notifications/read", "POST", {"up_to": ids[2]})).json() == {"marked": 0, "unread": 2}
    for bad in ({}, {"up_to": "3"}, {"up_to": -1}, {"up_to": 2**63}, {"up_to": True}):
        r = await alice.call("/api/notifications/read", "POST", bad)
        assert r.code == 400 and r.json()["error"] == "invalid_request", bad
    assert (await alice.notifications())["unread"] == 2


@pytest.mark.gen_test
async def test_another_persons_notifications_are_invisible_and_untouched(person, db):
    alice, bob = await person("alice"), await person("bob")
    theirs = await many(db, bob.id, 3)
    await many(db, alice.id, 1)
    assert all(n["id"] not in theirs for n in (await alice.notifications())["items"])
    r = await alice.call("/api/notifications/read", "POST", {"up_to": max(theirs) + 10})
    assert r.json() == {"marked": 1, "unread": 0}
    assert (await bob.notifications())["unread"] == 3


@pytest.mark.gen_test
@pytest.mark.parametrize("method,path,body", [
    ("GET", "/api/notifications", None), ("POST", "/api/notifications/read", {"up_to": 1}),
    ("GET", "/api/push/subscriptions", None), ("POST", "/api/push/subscriptions", {"endpoint": "https://x/"}),
    ("DELETE", "/api/push/subscriptions/1", None)])
async def test_every_call_needs_the_notifications_scope(person, method, path, body):
    alice = await person("alice")
    r = await api(alice.browser, path, None, method=method, body=body)
    assert r.code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="fync"'
    r = await alice.call(path, method, body, scope="profile friends:read friends:write event:write")
    assert r.code == 403 and r.json()["error"] == "insufficient_scope", r.text
    challenge = r.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and challenge.endswith('scope="notifications"')


@pytest.mark.gen_test
async def test_the_push_key_is_public(browser, app):
    r = await browser.get("/api/push/key")
    assert r.code == 200 and r.json() == {"public_key": app.push.public_key}
    assert len(app.push.public_key) == 87


# -- the pages ------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_the_header_counts_unread_and_the_page_marks_them_read(person, db):
    alice, bob = await person("alice"), await person("bob", "Bobby")
    assert 'href="/notifications">Notifications</a>' in (await alice.browser.get("/")).text
    await bob.ask(alice)
    home = (await alice.browser.get("/")).text
    assert '<span class="badge">1<span class="visually-hidden"> unread</span></span>' in home
    page = await alice.browser.get("/notifications")
    assert page.code == 200 and "New friend request" in page.text and "Bobby (bob@" in page.text
    up_to = page.form_value("up_to")
    await many(db, alice.id, 1)  # arrives after the page was shown: stays unread
    assert (await alice.browser.post("/notifications/read", {"up_to": up_to}, xsrf=False)).code == 403
    r = await alice.browser.post("/notifications/read", {"up_to": up_to})
    assert r.code == 303 and r.location == "/notifications"
    assert (await alice.notifications())["unread"] == 1
    assert '<span class="badge">1<' in (await alice.browser.get("/settings")).text
    assert (await alice.browser.post("/notifications/read", {"up_to": "x"})).code == 400


@pytest.mark.gen_test
async def test_the_count_stops_at_99_plus(person, db):
    alice = await person("alice")
    await many(db, alice.id, notify.UNREAD_SHOWN + 5)
    assert '<span class="badge">99+<' in (await alice.browser.get("/")).text


@pytest.mark.gen_test
async def test_the_page_needs_a_login_and_pages_back(person, make_browser, db):
    assert (await make_browser().get("/notifications")).location.startswith("/login")
    alice = await person("alice")
    await many(db, alice.id, 35)
    page = await alice.browser.get("/notifications")
    assert page.text.count('class="card unread"') == 30 and "Older notifications" in page.text
    older = page.text.split('href="/notifications?cursor=')[1].split('"')[0]
    assert (await alice.browser.get(f"/notifications?cursor={older}")).text.count('class="card unread"') == 5


# -- from another instance --------------------------------------------------------------------------

@pytest.mark.gen_test(timeout=60)
async def test_a_remote_request_and_its_acceptance_are_notified(tmp_path):
    from federation_helpers import Instance, eventually
    a, b = Instance(tmp_path / "a"), Instance(tmp_path / "b")
    try:
        await a.open()
        await b.open()
        a.start_worker()
        b.start_worker()
        alice, bob = await a.person("alice"), await b.person("bob")
        await alice.ask(bob.acct)

        async def told(instance, user_id, kind):
            return await instance.count("SELECT count(*) FROM notifications WHERE user_id = ? AND type = ?",
                                        (user_id, kind))
        await eventually(lambda: told(b, bob.id, "friend_request"))
        [request] = (await bob.call("/api/friends/requests")).json()["incoming"]
        n = await notify.list_notifications(b.db, b.app.cursors, b.domain, bob.id, 10, None)
        assert [(x.type, x.actor.acct, x.actor.username, x.object_id) for x in n[0]] == [
            ("friend_request", alice.acct, None, request["id"])]
        assert (await bob.call(f"/api/friends/requests/{request['id']}/accept", "POST")).code == 200
        await eventually(lambda: told(a, alice.id, "friend_accepted"))
        await eventually(lambda: a.count("SELECT count(*) FROM friendships"))
        assert await told(a, alice.id, "friend_accepted") == 1  # Accept and follow-back: told once
        assert await a.count("SELECT count(*) FROM notifications WHERE user_id = ?", (alice.id,)) == 1
    finally:
        await a.dispose()
        await b.dispose()


@pytest.mark.gen_test(timeout=90)
async def test_a_remote_friends_event_is_notified_with_its_title(tmp_path):
    """The events federation stores a friend's event from afar and records `friend_event`
    for their friends here, in the same transaction (services/event_federation.py)."""
    from federation_helpers import Instance, eventually
    from gancio_like import clock
    from gancio_like.services import events
    from test_federation import befriend
    a, b = Instance(tmp_path / "a"), Instance(tmp_path / "b")
    try:
        for instance in (await a.open(), await b.open()):
            instance.start_worker()
        alice, bob = await a.person("alice"), await b.person("bob")
        await befriend(alice, bob)
        start = clock.now() + 86400
        await events.create_event(a.db, alice.id, {"title": "Jam session", "start_datetime": start})

        async def told():
            return await b.count("SELECT count(*) FROM notifications WHERE type = 'friend_event'")
        await eventually(told)
        items, _ = await notify.list_notifications(b.db, b.app.cursors, b.domain, bob.id, 10, None)
        [n] = [x for x in items if x.type == "friend_event"]
        stored = await b.db.fetchval("SELECT id FROM remote_events")
        assert (n.actor.acct, n.actor.username, n.object_id, n.url) == (alice.acct, None, stored,
                                                                        f"/events/remote/{stored}")
        from gancio_like.services import notification_texts as texts
        ctx = await texts.context(b.db, [n], b.app.notification_types, "UTC")
        assert texts.text(n, ctx).body.startswith("Jam session, ")
        await events.update_event(a.db, (await a.db.fetchval("SELECT id FROM events")), alice.id, {"title": "Jam!"})
        await eventually(lambda: _remote_title_is(b, "Jam!"))
        assert await told() == 1  # an update tells nobody
    finally:
        await a.dispose()
        await b.dispose()


async def _remote_title_is(instance, title: str) -> bool:
    return await instance.db.fetchval("SELECT title FROM remote_events") == title
