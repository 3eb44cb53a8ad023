"""Friends across instances (SPEC §6): two live instances on loopback ports, each with
its own data and config, federating over real HTTP — request, accept, decline,
cancel, remove, and deliveries that survive an unreachable peer and a restart."""
from __future__ import annotations

import json
import logging

import pytest

from federation_helpers import Instance, eventually
from gancio_like.federation import delivery

SLOW = pytest.mark.gen_test(timeout=60)


@pytest.fixture
def instances(io_loop, tmp_path):
    """`await make("a")` → a started Instance; all are closed after the test."""
    made = []

    async def make(name: str, start_worker: bool = True, **options) -> Instance:
        instance = await Instance(tmp_path / name, **options).open()
        made.append(instance)
        if start_worker:
            instance.start_worker()
        return instance
    yield make
    for instance in made:
        io_loop.run_sync(instance.dispose)


@pytest.fixture
def pair(instances):
    """alice on instance A, bob on instance B, both workers running."""
    async def make():
        a, b = await instances("a"), await instances("b")
        return await a.person("alice"), await b.person("bob")
    return make


async def activity_types(instance) -> list[str]:
    """The queued activities' types, in order; parsed here, as json_extract is SQLite's alone."""
    rows = await instance.db.fetchall("SELECT activity FROM deliveries ORDER BY id")
    return [json.loads(r[0])["type"] for r in rows]


async def incoming_ids(person) -> list[int]:
    r = await person.call("/api/friends/requests")
    return [q["id"] for q in r.json()["incoming"]]


async def all_delivered(*instances) -> bool:
    for instance in instances:
        if await instance.count("SELECT count(*) FROM deliveries WHERE delivered_at IS NULL"):
            return False
    return True


# -- the whole dance ---------------------------------------------------------------------------


@SLOW
async def test_request_accept_then_remove(pair):
    alice, bob = await pair()
    sent = await alice.ask(bob.acct)
    assert sent["to"] == bob.acct and sent["status"] == "pending"
    [request_id] = await eventually(lambda: incoming_ids(bob))
    assert (await bob.requests())["incoming"] == [(alice.acct, bob.acct)]

    r = await bob.call(f"/api/friends/requests/{request_id}/accept", "POST")
    assert r.code == 200 and r.json()["status"] == "accepted"
    assert await bob.friends() == [alice.acct]
    await eventually(alice.friends)
    assert await alice.friends() == [bob.acct]
    await eventually(lambda: all_delivered(alice.instance, bob.instance))
    # One mutual friendship each side, nothing left pending, and the follow-back was accepted.
    assert await alice.friends() == [bob.acct] and await bob.friends() == [alice.acct]
    assert await alice.requests() == {"incoming": [], "outgoing": []}
    assert await bob.requests() == {"incoming": [], "outgoing": []}
    assert await activity_types(alice.instance) == ["Follow", "Accept"]
    assert await activity_types(bob.instance) == ["Accept", "Follow"]

    r = await alice.call(f"/api/friends/{bob.acct}", "DELETE")
    assert r.code == 204
    assert await alice.friends() == []
    await eventually(lambda: _empty(bob.friends))
    assert await alice.friends() == [] and await bob.friends() == []


async def _empty(listing) -> bool:
    return await listing() == []


async def befriend(asker, answerer) -> None:
    """asker asks, answerer accepts; back when every activity of both has been delivered."""
    await asker.ask(answerer.acct)
    [request_id] = await eventually(lambda: incoming_ids(answerer))
    assert (await answerer.call(f"/api/friends/requests/{request_id}/accept", "POST")).code == 200
    await eventually(lambda: all_delivered(asker.instance, answerer.instance))
    assert await asker.friends() == [answerer.acct] and await answerer.friends() == [asker.acct]


async def follow_id(person, other) -> str:
    """The id of person's (accepted) Follow of other, on person's instance."""
    return await person.instance.db.fetchval(
        "SELECT activity_id FROM friend_requests WHERE from_user_id = ? AND to_acct = ? AND status = 'accepted'",
        (person.id, other.acct))


@SLOW
@pytest.mark.parametrize("started_by", ["remover", "peer"])
async def test_removal_undoes_our_follow_and_rejects_theirs(pair, started_by):
    """SPEC §6: removal ends both directions, whoever's Follow began the friendship."""
    alice, bob = await pair()
    await (befriend(alice, bob) if started_by == "remover" else befriend(bob, alice))
    ours, theirs = await follow_id(alice, bob), await follow_id(bob, alice)
    assert ours and theirs and ours != theirs
    queued = await alice.instance.count("SELECT count(*) FROM deliveries")

    assert (await alice.call(f"/api/friends/{bob.acct}", "DELETE")).code == 204
    await eventually(lambda: all_delivered(alice.instance))
    rows = await alice.instance.db.fetchall("SELECT activity FROM deliveries ORDER BY id")
    undo, reject = [json.loads(r[0]) for r in rows[queued:]]
    context = "https://www.w3.org/ns/activitystreams"
    assert undo == {"@context": context, "id": undo["id"], "type": "Undo", "actor": alice.actor,
                    "object": {"id": ours, "type": "Follow", "actor": alice.actor, "object": bob.actor}}
    assert reject == {"@context": context, "id": reject["id"], "type": "Reject", "actor": alice.actor,
                      "object": {"id": theirs, "type": "Follow", "actor": bob.actor, "object": alice.actor}}
    assert undo["id"] != reject["id"] and all(a["id"].startswith(f"{alice.instance.base}/activities/")
                                              for a in (undo, reject))
    # bob's instance applied both, ended the friendship, and answered nothing.
    seen = {r[0].split()[0] for r in await bob.instance.db.fetchall("SELECT activity_id FROM inbox_seen")}
    assert {undo["id"], reject["id"]} <= seen
    assert await alice.friends() == [] and await bob.friends() == []
    assert await bob.instance.count("SELECT count(*) FROM deliveries WHERE delivered_at IS NULL") == 0
    # Nothing of the old friendship is left on either side: a new request waits for an answer.
    await alice.ask(bob.acct)
    await eventually(lambda: incoming_ids(bob))
    assert await bob.requests() == {"incoming": [(alice.acct, bob.acct)], "outgoing": []}
    assert await alice.requests() == {"incoming": [], "outgoing": [(alice.acct, bob.acct)]}
    assert await alice.friends() == [] and await bob.friends() == []


async def deliver_all(instance) -> None:
    """Run the instance's deliveries by hand until none is due (all delivered, here)."""
    worker = delivery.DeliveryWorker(instance.app.federation)
    while await worker.run_once():
        pass
    assert await all_delivered(instance)


@SLOW
async def test_an_accept_arriving_after_removal_does_not_befriend_again(instances):
    """alice removes bob while his Accept of her follow-back is still on its way: when it
    arrives, the friendship stays ended on both sides (it was re-made on alice's alone)."""
    a, b = await instances("a", start_worker=False), await instances("b", start_worker=False)
    alice, bob = await a.person("alice"), await b.person("bob")
    await bob.ask(alice.acct)
    await deliver_all(b)  # bob's Follow
    [request_id] = await incoming_ids(alice)
    assert (await alice.call(f"/api/friends/requests/{request_id}/accept", "POST")).code == 200
    await deliver_all(a)  # alice's Accept and follow-back; bob's instance queues its Accept of the latter
    assert (await alice.call(f"/api/friends/{bob.acct}", "DELETE")).code == 204
    await deliver_all(a)  # Undo and Reject
    assert await bob.friends() == []
    await deliver_all(b)  # the late Accept
    assert await alice.friends() == [] and await bob.friends() == []
    assert await alice.requests() == {"incoming": [], "outgoing": []}


@SLOW
async def test_friends_page_shows_remote_friends(pair):
    alice, bob = await pair()
    await alice.ask(bob.acct)
    [request_id] = await eventually(lambda: incoming_ids(bob))
    page = await bob.browser.get("/friends")
    assert alice.acct in page.text
    await bob.call(f"/api/friends/requests/{request_id}/accept", "POST")
    await eventually(alice.friends)
    page = await alice.browser.get("/friends")
    assert page.code == 200 and bob.acct in page.text


@SLOW
async def test_decline(pair):
    alice, bob = await pair()
    sent = await alice.ask(bob.acct)
    [request_id] = await eventually(lambda: incoming_ids(bob))
    r = await bob.call(f"/api/friends/requests/{request_id}/decline", "POST")
    assert r.code == 200 and r.json()["status"] == "declined"

    async def declined():
        return await alice.instance.db.fetchval("SELECT status FROM friend_requests WHERE id = ?",
                                                (sent["id"],)) == "declined"
    await eventually(declined)
    assert await alice.requests() == {"incoming": [], "outgoing": []}
    assert await alice.friends() == [] and await bob.friends() == []
    # Declined is not blocked: alice may ask again, and bob sees it.
    await alice.ask(bob.acct)
    assert len(await eventually(lambda: incoming_ids(bob))) == 1


@SLOW
async def test_cancel(pair):
    alice, bob = await pair()
    sent = await alice.ask(bob.acct)
    await eventually(lambda: incoming_ids(bob))
    r = await alice.call(f"/api/friends/requests/{sent['id']}/cancel", "POST")
    assert r.code == 200 and r.json()["status"] == "cancelled"
    await eventually(lambda: _none(bob))
    assert await bob.instance.db.fetchval("SELECT status FROM friend_requests") == "cancelled"
    assert await bob.friends() == []


async def _none(person) -> bool:
    return await incoming_ids(person) == []


@SLOW
async def test_both_ask_at_once_make_one_friendship(instances):
    a, b = await instances("a", start_worker=False), await instances("b", start_worker=False)
    alice, bob = await a.person("alice"), await b.person("bob")
    await alice.ask(bob.acct)
    await bob.ask(alice.acct)
    a.start_worker()
    b.start_worker()
    await eventually(lambda: all_delivered(a, b))
    assert await alice.friends() == [bob.acct] and await bob.friends() == [alice.acct]
    assert await alice.requests() == {"incoming": [], "outgoing": []}
    assert await bob.requests() == {"incoming": [], "outgoing": []}


@SLOW
async def test_asking_someone_who_asked_accepts_them(pair):
    alice, bob = await pair()
    await alice.ask(bob.acct)
    await eventually(lambda: incoming_ids(bob))
    r = await bob.call("/api/friends/requests", "POST", {"to": alice.acct})
    assert r.code == 201 and r.json()["status"] == "accepted"
    await eventually(alice.friends)
    assert await alice.friends() == [bob.acct] and await bob.friends() == [alice.acct]


# -- deliveries: retries and restarts ----------------------------------------------------------


@SLOW
async def test_delivery_to_a_stopped_instance_completes_when_it_is_back(instances):
    a, b = await instances("a"), await instances("b")
    alice, bob = await a.person("alice"), await b.person("bob")
    await b.stop_serving()
    await alice.ask(bob.acct)

    async def failed_twice():
        row = await a.db.fetchone("SELECT attempts, last_error, delivered_at FROM deliveries")
        return row if row["attempts"] >= 2 else None
    row = await eventually(failed_twice)
    assert row["delivered_at"] is None and row["last_error"]
    b.serve()
    await eventually(lambda: incoming_ids(bob))
    await eventually(lambda: all_delivered(a))  # bob's commit can come before a records the 202


@SLOW
async def test_a_restart_loses_no_delivery(instances):
    a, b = await instances("a", start_worker=False), await instances("b")
    alice, bob = await a.person("alice"), await b.person("bob")
    await alice.ask(bob.acct)
    await a.restart()  # queued, never tried: the row is all there is
    assert await a.count("SELECT count(*) FROM deliveries WHERE delivered_at IS NULL") == 1
    a.start_worker()
    await eventually(lambda: incoming_ids(bob))


@SLOW
async def test_undo_never_overtakes_its_follow(instances):
    a, b = await instances("a"), await instances("b")
    alice, bob = await a.person("alice"), await b.person("bob")
    await b.stop_serving()
    sent = await alice.ask(bob.acct)
    await alice.call(f"/api/friends/requests/{sent['id']}/cancel", "POST")
    b.serve()
    await eventually(lambda: all_delivered(a))
    assert await incoming_ids(bob) == []
    assert await b.db.fetchval("SELECT status FROM friend_requests") == "cancelled"


def test_retry_schedule_follows_the_spec():
    early = [delivery.retry_delay(n, age) for n, age in ((1, 0), (2, 5), (3, 15), (6, 300), (20, 3500))]
    assert early[0] <= 10 and all(d <= 60 for d in early)
    assert delivery.retry_delay(1, 4000) >= 60 and delivery.retry_delay(50, 86400) == 3600


@SLOW
async def test_a_delivery_is_given_up_with_one_log_line(instances, caplog):
    a = await instances("a", start_worker=False)
    alice = await a.person("alice")
    dead = Instance(a.root.parent / "dead")  # a bound port nobody answers on
    dead.sock.close()
    dead.http.close()
    await alice.ask(f"bob@{dead.domain}")
    worker = delivery.DeliveryWorker(a.app.federation, give_up_after=0)
    with caplog.at_level(logging.WARNING, logger="fync.federation"):
        assert await worker.run_once() == 1
    row = await a.db.fetchone("SELECT attempts, gave_up_at, last_error FROM deliveries")
    assert row["attempts"] == 1 and row["gave_up_at"] is not None and row["last_error"]
    [line] = [r for r in caplog.records if r.name == "fync.federation"]
    assert "gave up" in line.getMessage() and f"bob@{dead.domain}" in line.getMessage()
    assert await worker.run_once() == 0


@SLOW
async def test_an_unknown_remote_user_is_given_up_at_once(instances):
    a, b = await instances("a", start_worker=False), await instances("b")
    alice = await a.person("alice")
    await alice.ask(f"nobody@{b.domain}")
    worker = delivery.DeliveryWorker(a.app.federation)
    await worker.run_once()
    row = await a.db.fetchone("SELECT gave_up_at, last_error FROM deliveries")
    assert row["gave_up_at"] is not None and "404" in row["last_error"]


# -- what goes over the wire -------------------------------------------------------------------


@SLOW
async def test_the_follow_and_accept_as_sent(instances):
    a, b = await instances("a", start_worker=False), await instances("b", start_worker=False)
    alice, bob = await a.person("alice"), await b.person("bob")
    sent = await alice.ask(bob.acct)
    await delivery.DeliveryWorker(a.app.federation).run_once()
    follow = json.loads(await a.db.fetchval("SELECT activity FROM deliveries"))
    follow_id = await a.db.fetchval("SELECT activity_id FROM friend_requests WHERE id = ?", (sent["id"],))
    assert follow == {"@context": "https://www.w3.org/ns/activitystreams", "id": follow_id, "type": "Follow",
                      "actor": alice.actor, "object": bob.actor}
    assert follow_id.startswith(f"{a.base}/activities/")
    [request_id] = await incoming_ids(bob)
    await bob.call(f"/api/friends/requests/{request_id}/accept", "POST")
    await delivery.DeliveryWorker(b.app.federation).run_once()
    accept, back = [json.loads(r[0]) for r in await b.db.fetchall("SELECT activity FROM deliveries ORDER BY id")]
    assert accept == {"@context": "https://www.w3.org/ns/activitystreams", "id": accept["id"], "type": "Accept",
                      "actor": bob.actor, "object": {"id": follow_id, "type": "Follow", "actor": alice.actor,
                                                      "object": bob.actor}}
    assert back["type"] == "Follow" and back["actor"] == bob.actor and back["object"] is None  # not yet sent


# -- federation turned off ---------------------------------------------------------------------


@SLOW
async def test_federation_disabled(instances):
    a, b = await instances("a", enabled=False), await instances("b")
    alice, bob = await a.person("alice"), await b.person("bob")
    r = await alice.call("/api/friends/requests", "POST", {"to": bob.acct})
    assert r.code == 400 and "does not federate" in r.json()["error_description"]
    r = await alice.browser.post("/friends/requests", {"name": bob.acct})
    assert r.code == 400 and "does not federate" in r.text
    assert await a.count("SELECT count(*) FROM friend_requests") == 0
    r = await alice.browser.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert r.code == 200 and r.json()["id"] == alice.actor
    # bob's Follow to alice is refused: the inbox answers 403, a final answer for bob's instance.
    await bob.ask(alice.acct)

    async def given_up():
        return await b.db.fetchval("SELECT last_error FROM deliveries WHERE gave_up_at IS NOT NULL")
    assert "403" in await eventually(given_up)
    assert a.app.federation.worker is None
    # Local friends still work.
    carol = await a.person("carol")
    assert (await alice.call("/api/friends/requests", "POST", {"to": "carol"})).code == 201
    assert carol.id
