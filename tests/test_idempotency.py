"""`Idempotency-Key` on the API's creating POSTs (handlers/idempotency.py, migration 0014):
a retry replays the first answer and does nothing twice; the key is per person and app,
kept 24 h; a reused key with another request (409), a key still in use (409), and a malformed key
are refused in the documented error shape."""
from __future__ import annotations

import json

import pytest

from gancio_like import clock
from gancio_like.services import housekeeping
from oauth_helpers import full_flow, register

SCOPES = "profile friends:read friends:write event:read event:write"
EVENT = {"title": "Walk on the downs", "start_datetime": 1_900_000_000}


class Caller:
    """A person's token from one app; `post` sends JSON with an optional key."""

    def __init__(self, browser, token: str):
        self.browser, self.token = browser, token

    async def post(self, path: str, body, key: str | None = None, raw: bytes | None = None):
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body)
        return await self.browser.request("POST", path, data, headers=headers, xsrf=False)


@pytest.fixture
def caller(make_browser, make_user):
    made: dict[str, int] = {}

    async def make(name: str, app: str = "one") -> Caller:
        browser = make_browser()
        if name not in made:
            made[name] = await make_user(name)
        await browser.login(name)
        client = await register(browser, scope=SCOPES, client_name=f"App {app}")
        return Caller(browser, (await full_flow(browser, client, scope=SCOPES))["access_token"])
    return make


async def count(db, table: str) -> int:
    return await db.fetchval(f"SELECT count(*) FROM {table}")


@pytest.mark.gen_test
async def test_a_retry_replays_the_first_answer_and_creates_nothing(caller, db):
    alice = await caller("alice")
    first = await alice.post("/api/events", EVENT, key="k-1")
    assert first.code == 201 and "Idempotent-Replayed" not in first.headers
    again = await alice.post("/api/events", EVENT, key="k-1")
    assert again.code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await count(db, "events") == 1
    quoted = await alice.post("/api/events", EVENT, key='"k-1"')  # a Structured Field string is the same key
    assert quoted.json() == first.json() and await count(db, "events") == 1


@pytest.mark.gen_test
async def test_each_creating_post_takes_a_key(caller, db):
    alice, bob = await caller("alice"), await caller("bob")
    for _ in range(2):
        r = await alice.post("/api/friends/requests", {"to": "bob"}, key="send")
        assert r.code == 201, r.text
    request_id = r.json()["id"]
    assert await count(db, "friend_requests") == 1
    for _ in range(2):
        r = await bob.post(f"/api/friends/requests/{request_id}/accept", None, key="yes", raw=b"")
        assert r.code == 200 and r.json()["status"] == "accepted", r.text
    assert r.headers["Idempotent-Replayed"] == "true"


@pytest.mark.gen_test
async def test_without_a_key_nothing_changes(caller, db):
    alice = await caller("alice")
    for _ in range(2):
        assert (await alice.post("/api/events", EVENT)).code == 201
    assert await count(db, "events") == 2
    assert await count(db, "idempotency_keys") == 0


@pytest.mark.gen_test
async def test_a_refusal_is_replayed_too(caller, db):
    """The offline queue's case: an accept of a withdrawn request stays a 404 when retried."""
    bob = await caller("bob")
    for _ in range(2):
        r = await bob.post("/api/friends/requests/999/accept", None, key="gone", raw=b"")
        assert r.code == 404 and r.json()["error"] == "not_found"
    assert r.headers["Idempotent-Replayed"] == "true"


@pytest.mark.gen_test
async def test_same_key_with_another_request_is_refused(caller, db):
    alice = await caller("alice")
    assert (await alice.post("/api/events", EVENT, key="k")).code == 201
    for path, body in (("/api/events", {**EVENT, "title": "Another"}), ("/api/friends/requests", {"to": "x"})):
        r = await alice.post(path, body, key="k")
        assert r.code == 409, r.text
        assert r.json()["error"] == "idempotency_key_reused" and r.json()["error_description"]
    assert await count(db, "events") == 1


@pytest.mark.gen_test
async def test_a_key_still_being_answered_is_a_409(caller, db, monkeypatch):
    alice = await caller("alice")
    assert (await alice.post("/api/events", EVENT, key="k")).code == 201
    await db.execute("UPDATE idempotency_keys SET status = NULL, body = NULL")  # as if mid-request
    r = await alice.post("/api/events", EVENT, key="k")
    assert r.code == 409 and r.json()["error"] == "idempotency_key_in_use"
    # A claim whose request never answered (the process died) is taken over after a minute.
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + 61)
    assert (await alice.post("/api/events", EVENT, key="k")).code == 201
    assert await count(db, "events") == 2


@pytest.mark.gen_test
async def test_keys_are_per_person_and_per_app(caller, db):
    alice, alice_other_app, bob = await caller("alice"), await caller("alice", app="two"), await caller("bob")
    mine = await alice.post("/api/events", EVENT, key="shared")
    for other in (bob, alice_other_app):
        r = await other.post("/api/events", EVENT, key="shared")
        assert r.code == 201 and "Idempotent-Replayed" not in r.headers
        assert r.json()["id"] != mine.json()["id"]
    assert await count(db, "events") == 3


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("oauth", "access_token_ttl"): 0}])  # the token outlives the key
async def test_keys_expire_after_24_hours_and_are_swept(caller, db, monkeypatch, config_overrides):
    alice = await caller("alice")
    assert (await alice.post("/api/events", EVENT, key="k")).code == 201
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + 86399)
    assert (await alice.post("/api/events", EVENT, key="k")).headers.get("Idempotent-Replayed") == "true"
    await housekeeping.sweep(db)
    assert await count(db, "idempotency_keys") == 1
    monkeypatch.setattr(clock, "now", lambda: start + 86400)
    r = await alice.post("/api/events", EVENT, key="k")
    assert r.code == 201 and "Idempotent-Replayed" not in r.headers
    assert await count(db, "events") == 2
    monkeypatch.setattr(clock, "now", lambda: start + 2 * 86400)
    await housekeeping.sweep(db)
    assert await count(db, "idempotency_keys") == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there", '"', 'a"b', "back\\slash"])
async def test_malformed_keys_are_a_400_and_change_nothing(caller, db, key):
    alice = await caller("alice")
    r = await alice.post("/api/events", EVENT, key=key)
    assert r.code == 400 and r.json()["error"] == "invalid_request"
    assert "Idempotency-Key" in r.json()["error_description"]
    assert await count(db, "events") == 0


@pytest.mark.gen_test
async def test_a_server_failure_frees_the_key_for_a_retry(caller, db, monkeypatch):
    from gancio_like.services import events
    alice = await caller("alice")
    real = events.create_event

    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(events, "create_event", broken)
    assert (await alice.post("/api/events", EVENT, key="k")).code == 500
    assert await count(db, "idempotency_keys") == 0
    monkeypatch.setattr(events, "create_event", real)
    assert (await alice.post("/api/events", EVENT, key="k")).code == 201


@pytest.mark.gen_test
async def test_racing_retries_act_once(caller, db):
    import asyncio
    alice = await caller("alice")
    answers = await asyncio.gather(*(alice.post("/api/events", EVENT, key="race") for _ in range(5)))
    assert {a.code for a in answers} <= {201, 409}
    assert await count(db, "events") == 1


@pytest.mark.gen_test
async def test_documented_in_openapi_and_allowed_by_cors(browser):
    doc = (await browser.get("/api/openapi.json")).json()
    keyed = {(path, method) for path, item in doc["paths"].items() for method, op in item.items()
             if any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in op.get("parameters", []))}
    assert keyed == {("/api/events", "post"), ("/api/friends/requests", "post"),
                     *{(f"/api/friends/requests/{{request_id}}/{action}", "post")
                       for action in ("accept", "decline", "cancel")}}
    op = doc["paths"]["/api/events"]["post"]
    assert "idempotency_key_reused" in op["responses"]["409"]["description"]
    r = await browser.request("OPTIONS", "/api/events", headers={"Origin": "https://elsewhere.example",
                                                                 "Access-Control-Request-Headers": "idempotency-key"})
    assert "Idempotency-Key" in r.headers["Access-Control-Allow-Headers"]
