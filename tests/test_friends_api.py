"""The friends API (SPEC §4): scopes, paging, the request flow, errors, races."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gancio_like.notifications import FriendshipCreated
from gancio_like.storage import friends as store
from oauth_helpers import api, full_flow, register

RW = "friends:read friends:write"


class Person:
    """A user with a logged-in browser and a token per scope set (one client, consent remembered)."""

    def __init__(self, browser, user_id: int, client: dict):
        self.browser, self.id, self.client = browser, user_id, client
        self.tokens: dict[str, str] = {}

    async def token(self, scope: str = RW) -> str:
        if scope not in self.tokens:
            self.tokens[scope] = (await full_flow(self.browser, self.client, scope=scope))["access_token"]
        return self.tokens[scope]

    async def call(self, path: str, method="GET", body=None, scope: str = RW):
        return await api(self.browser, path, await self.token(scope), method=method, body=body)


@pytest.fixture
def person(make_browser, make_user):
    async def make(name: str, display_name: str = "") -> Person:
        browser = make_browser()
        user_id = await make_user(name, display_name=display_name)
        await browser.login(name)
        client = await register(browser, scope="profile friends:read friends:write")
        return Person(browser, user_id, client)
    return make


async def befriend(db, a: int, b: int, since: int) -> None:
    async with db.transaction() as tx:
        await store.insert_friendship(tx, a, b, None, since)
        await store.insert_friendship(tx, b, a, None, since)


async def request_status(db, request_id: int) -> str:
    return await db.fetchval("SELECT status FROM friend_requests WHERE id = ?", (request_id,))


# -- scopes: every call with the right scope, a wrong one, and none ------------------------------

CALLS = [  # method, path, body, scope, status with the right scope (alice alone, bob exists)
    ("GET", "/api/friends", None, "friends:read", 200),
    ("GET", "/api/friends/requests", None, "friends:read", 200),
    ("POST", "/api/friends/requests", {"to": "bob"}, "friends:write", 201),
    ("POST", "/api/friends/requests/999/accept", None, "friends:write", 404),
    ("POST", "/api/friends/requests/999/decline", None, "friends:write", 404),
    ("POST", "/api/friends/requests/999/cancel", None, "friends:write", 404),
    ("DELETE", "/api/friends/bob", None, "friends:write", 404),
    ("GET", "/api/people/suggestions", None, "friends:read", 200),
]


@pytest.mark.gen_test
@pytest.mark.parametrize("method,path,body,scope,status", CALLS)
async def test_every_call_checks_its_scope(person, method, path, body, scope, status):
    alice = await person("alice")
    await person("bob")
    wrong = "friends:write" if scope == "friends:read" else "friends:read"
    for other in (wrong, "profile"):
        r = await alice.call(path, method, body, scope=other)
        assert r.code == 403, r.text
        assert r.json()["error"] == "insufficient_scope" and scope in r.json()["error_description"]
        assert f'scope="{scope}"' in r.headers["WWW-Authenticate"]
    r = await api(alice.browser, path, None, method=method, body=body)
    assert r.code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="fync"'
    r = await alice.call(path, method, body, scope=scope)
    assert r.code == status, r.text


# -- the whole flow between two local users --------------------------------------------------------

@pytest.mark.gen_test
async def test_request_accept_list_remove(person, app):
    alice, bob = await person("alice", "Alice A."), await person("bob", "Bob B.")
    domain = app.cfg.domain
    r = await alice.call("/api/friends/requests", "POST", {"to": "bob"})
    assert r.code == 201, r.text
    sent = r.json()
    assert sent["from"] == f"alice@{domain}" and sent["to"] == f"bob@{domain}"
    assert sent["status"] == "pending" and isinstance(sent["id"], int) and sent["created_at"] > 0

    mine, theirs = (await alice.call("/api/friends/requests")).json(), (await bob.call("/api/friends/requests")).json()
    assert mine == {"incoming": [], "outgoing": [sent]}
    assert theirs == {"incoming": [sent], "outgoing": []}

    r = await bob.call(f"/api/friends/requests/{sent['id']}/accept", "POST")
    assert r.code == 200 and r.json()["status"] == "accepted", r.text
    for who, other, name in ((alice, "bob", "Bob B."), (bob, "alice", "Alice A.")):
        friends = (await who.call("/api/friends")).json()
        assert friends["next_cursor"] is None
        [item] = friends["items"]
        assert item["acct"] == f"{other}@{domain}" and item["username"] == other
        assert item["display_name"] == name and item["since"] > 0
        assert (await who.call("/api/friends/requests")).json() == {"incoming": [], "outgoing": []}

    r = await alice.call("/api/friends/bob", "DELETE")
    assert r.code == 204 and r.body == b""
    assert (await alice.call("/api/friends")).json()["items"] == []
    assert (await bob.call("/api/friends")).json()["items"] == []
    r = await alice.call("/api/friends/bob", "DELETE")
    assert r.code == 404 and r.json()["error"] == "not_found"


@pytest.mark.gen_test
async def test_decline_and_cancel(person, db):
    alice, bob = await person("alice"), await person("bob")
    first = (await alice.call("/api/friends/requests", "POST", {"to": "bob"})).json()
    r = await bob.call(f"/api/friends/requests/{first['id']}/decline", "POST")
    assert r.code == 200 and r.json()["status"] == "declined"
    assert (await bob.call("/api/friends")).json()["items"] == []
    assert (await bob.call("/api/friends/requests")).json()["incoming"] == []

    r = await alice.call("/api/friends/requests", "POST", {"to": "bob"})  # asking again is allowed
    assert r.code == 201, r.text
    second = r.json()
    r = await alice.call(f"/api/friends/requests/{second['id']}/cancel", "POST")
    assert r.code == 200 and r.json()["status"] == "cancelled"
    assert (await bob.call("/api/friends/requests")).json()["incoming"] == []
    assert await request_status(db, first["id"]) == "declined"


@pytest.mark.gen_test
@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
async def test_deciding_twice_is_409(person, action):
    alice, bob = await person("alice"), await person("bob")
    sent = (await alice.call("/api/friends/requests", "POST", {"to": "bob"})).json()
    who = alice if action == "cancel" else bob
    assert (await who.call(f"/api/friends/requests/{sent['id']}/{action}", "POST")).code == 200
    for again in ("accept", "decline") if who is bob else ("cancel",):
        r = await who.call(f"/api/friends/requests/{sent['id']}/{again}", "POST")
        assert r.code == 409 and r.json()["error"] == "conflict", r.text


@pytest.mark.gen_test
async def test_only_the_recipient_decides_only_the_sender_cancels(person, db):
    alice, bob, carol = await person("alice"), await person("bob"), await person("carol")
    sent = (await alice.call("/api/friends/requests", "POST", {"to": "bob"})).json()
    refusals = [(alice, "accept"), (alice, "decline"), (carol, "accept"), (carol, "decline"),
                (bob, "cancel"), (carol, "cancel")]
    for who, action in refusals:
        r = await who.call(f"/api/friends/requests/{sent['id']}/{action}", "POST")
        assert r.code == 404 and r.json()["error_description"] == "no such friend request", (action, r.text)
    assert await request_status(db, sent["id"]) == "pending"


@pytest.mark.gen_test
async def test_asking_someone_who_asked_you_accepts_their_request(person):
    alice, bob = await person("alice"), await person("bob")
    theirs = (await alice.call("/api/friends/requests", "POST", {"to": "bob"})).json()
    r = await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    assert r.code == 201, r.text
    assert r.json() == {**theirs, "status": "accepted"}
    assert [f["username"] for f in (await bob.call("/api/friends")).json()["items"]] == ["alice"]
    assert [f["username"] for f in (await alice.call("/api/friends")).json()["items"]] == ["bob"]


@pytest.mark.gen_test
async def test_send_errors(person, app, db):
    alice, bob = await person("alice"), await person("bob")
    domain = app.cfg.domain
    cases = [({"to": "alice"}, 400, "yourself"), ({"to": f"alice@{domain}"}, 400, "yourself"),
             ({"to": "nobody"}, 404, "no such user"), ({"to": "not a name!"}, 400, "bob@other.example"),
             ({"to": "bob@bad domain"}, 400, "bob@other.example"), ({}, 400, '"to"'), ({"to": 7}, 400, '"to"')]
    for body, status, words in cases:
        r = await alice.call("/api/friends/requests", "POST", body)
        assert r.code == status and words in r.json()["error_description"], (body, r.text)
    r = await api(alice.browser, "/api/friends/requests", await alice.token(), method="POST", body=None)
    assert r.code == 400  # no body at all: no "to"
    assert await db.fetchval("SELECT count(*) FROM friend_requests") == 0

    r = await alice.call("/api/friends/requests", "POST", {"to": f"@BOB@{domain}"})  # our own domain: local bob
    assert r.code == 201 and r.json()["to"] == f"bob@{domain}"
    r = await alice.call("/api/friends/requests", "POST", {"to": "bob"})
    assert r.code == 409 and "already sent" in r.json()["error_description"]
    request_id = await db.fetchval("SELECT id FROM friend_requests")
    assert (await bob.call(f"/api/friends/requests/{request_id}/accept", "POST")).code == 200
    r = await alice.call("/api/friends/requests", "POST", {"to": "bob"})
    assert r.code == 409 and "already friends" in r.json()["error_description"]


@pytest.mark.gen_test
async def test_remote_requests_stay_pending_for_federation(person, db):
    alice = await person("alice")
    r = await alice.call("/api/friends/requests", "POST", {"to": "Carol@Other.Example:8443"})
    assert r.code == 201, r.text
    sent = r.json()
    assert sent["to"] == "carol@other.example:8443" and sent["status"] == "pending"
    row = await db.fetchone("SELECT to_user_id, to_acct FROM friend_requests WHERE id = ?", (sent["id"],))
    assert row["to_user_id"] is None and row["to_acct"] == "carol@other.example:8443"
    assert (await alice.call("/api/friends/requests")).json()["outgoing"] == [sent]
    r = await alice.call("/api/friends/requests", "POST", {"to": "carol@other.example:8443"})
    assert r.code == 409
    r = await alice.call(f"/api/friends/requests/{sent['id']}/cancel", "POST")
    assert r.code == 200 and r.json()["status"] == "cancelled"


@pytest.mark.gen_test
async def test_remote_friend_is_listed_and_removed(person, db, app):
    alice = await person("alice")
    async with db.transaction() as tx:
        await store.insert_friendship(tx, alice.id, None, "dave@remote.example", 100)
    [item] = (await alice.call("/api/friends")).json()["items"]
    assert item == {"acct": "dave@remote.example", "username": "dave", "display_name": "", "since": 100,
                    "avatar": f"{app.cfg.issuer}/avatars/remote/dave@remote.example"}
    r = await alice.call("/api/friends/requests", "POST", {"to": "dave@remote.example"})
    assert r.code == 409
    assert (await alice.call("/api/friends/dave@remote.example", "DELETE")).code == 204
    assert (await alice.call("/api/friends")).json()["items"] == []


@pytest.mark.gen_test
async def test_remove_by_full_local_acct_and_errors(person, app, db):
    alice, bob = await person("alice"), await person("bob")
    await befriend(db, alice.id, bob.id, 5)
    assert (await alice.call("/api/friends/nobody", "DELETE")).code == 404
    assert (await alice.call("/api/friends/alice", "DELETE")).code == 404
    assert (await alice.call("/api/friends/not%20a%20name", "DELETE")).code == 400
    assert (await alice.call(f"/api/friends/bob@{app.cfg.domain}", "DELETE")).code == 204
    assert await db.fetchval("SELECT count(*) FROM friendships") == 0


@pytest.mark.gen_test
async def test_concurrent_accept_and_decline_have_one_outcome(person, db):
    alice, bob = await person("alice"), await person("bob")
    for _ in range(5):
        sent = (await alice.call("/api/friends/requests", "POST", {"to": "bob"})).json()
        await bob.token()
        accept, decline = await asyncio.gather(
            bob.call(f"/api/friends/requests/{sent['id']}/accept", "POST"),
            bob.call(f"/api/friends/requests/{sent['id']}/decline", "POST"))
        assert sorted([accept.code, decline.code]) == [200, 409], (accept.text, decline.text)
        status = await request_status(db, sent["id"])
        assert status == ("accepted" if accept.code == 200 else "declined")
        friendships = await db.fetchval("SELECT count(*) FROM friendships")
        assert friendships == (2 if status == "accepted" else 0)
        if friendships:
            assert (await alice.call("/api/friends/bob", "DELETE")).code == 204


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{
    ("plugins", "paths"): [str(Path(__file__).parent / "plugins")], ("plugins", "enabled"): ["sample"]}])
async def test_plugins_hear_of_each_friendship_once(person, app):
    alice, bob = await person("alice"), await person("bob")
    sent = (await alice.call("/api/friends/requests", "POST", {"to": "bob"})).json()
    recorded = app.plugins.pm.get_plugin("sample").RECORDED
    assert not [e for e in recorded if isinstance(e, FriendshipCreated)]
    await bob.call(f"/api/friends/requests/{sent['id']}/accept", "POST")
    await asyncio.sleep(0)
    told = [e for e in recorded if isinstance(e, FriendshipCreated)]
    assert told == [FriendshipCreated(user_acct=sent["from"], friend_acct=sent["to"])]


# -- paging ------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_friends_are_paged_newest_first(person, make_user, db, app):
    alice = await person("alice")
    for i, name in enumerate(["f1", "f2", "f3", "f4", "f5"]):
        await befriend(db, alice.id, await make_user(name), since=1000 + i // 2)  # ties on since too
    seen, cursor = [], None
    while True:
        path = "/api/friends?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await alice.call(path)).json()
        assert len(page["items"]) <= 2
        seen += [f["username"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["f5", "f4", "f3", "f2", "f1"]
    assert len((await alice.call("/api/friends")).json()["items"]) == 5


@pytest.mark.gen_test
@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"),
                                         ("limit=-1", "limit"), ("cursor=garbage", "cursor")])
async def test_bad_paging_is_400(person, query, field):
    alice = await person("alice")
    r = await alice.call(f"/api/friends?{query}")
    assert r.code == 400 and field in r.json()["error_description"], r.text


@pytest.mark.gen_test
async def test_a_cursor_from_another_list_is_400(person, app):
    alice = await person("alice")
    foreign = app.cursors.encode({"t": 1, "id": 2})
    r = await alice.call(f"/api/friends?cursor={foreign}")
    assert r.code == 400 and "cursor" in r.json()["error_description"]
    assert (await alice.call("/api/friends?limit=100")).code == 200
