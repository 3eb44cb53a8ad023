"""The inbox's defences (SPEC §6; SECURITY-CHECKLIST 57-60) and the actor documents.

A real peer (instance A, whose users have real keys and actors) signs requests
by hand to instance B's inboxes, correctly once as a control and then broken in
one way each: every broken one is 401 and changes nothing.
"""
from __future__ import annotations

import json
import secrets
import time

import pytest
from cryptography.hazmat.primitives import serialization
from tornado.httputil import HTTPHeaders

from federation_helpers import Instance, follow, signed_post
from gancio_like import federation, net
from gancio_like.federation import actors, delivery, inbox, keys, signatures
from gancio_like.storage import federation as fed_store

SLOW = pytest.mark.gen_test(timeout=60)
AP = "application/activity+json"


@pytest.fixture
def instances(io_loop, tmp_path):
    made = []

    async def make(name: str, **options) -> Instance:
        instance = await Instance(tmp_path / name, **options).open()
        made.append(instance)
        return instance
    yield make
    for instance in made:
        io_loop.run_sync(instance.dispose)


@pytest.fixture
def peers(instances):
    """alice and carol on A (no worker), bob on B: A plays the remote side by hand."""
    async def make():
        a, b = await instances("a"), await instances("b")
        return await a.person("alice"), await a.person("carol"), await b.person("bob")
    return make


async def nothing_changed(b: Instance) -> bool:
    return (await b.count("SELECT count(*) FROM friend_requests") == 0
            and await b.count("SELECT count(*) FROM inbox_seen") == 0)


# -- the control: a correct signature works, on both inboxes -----------------------------------


@SLOW
@pytest.mark.parametrize("shared", [False, True])
async def test_a_correctly_signed_follow_is_a_friend_request(peers, shared):
    alice, _, bob = await peers()
    url = f"{bob.instance.base}/inbox" if shared else f"{bob.actor}/inbox"
    r = await signed_post(alice, url, follow(alice, bob))
    assert r.code == 202, r.text
    assert (await bob.requests())["incoming"] == [(alice.acct, bob.acct)]


@SLOW
@pytest.mark.parametrize("content_type", ['application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                                          "application/ld+json", "application/json"])
async def test_activities_are_taken_in_every_activitystreams_media_type(peers, content_type):
    """ActivityPub §7: `application/ld+json` with the profile is the activity media type too."""
    alice, _, bob = await peers()
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob), content_type=content_type)
    assert r.code == 202, r.text
    assert (await bob.requests())["incoming"] == [(alice.acct, bob.acct)]


# -- broken signatures: 401, no change ----------------------------------------------------------

BROKEN = {
    "unsigned": dict(drop=("Signature",)),
    "no date header": dict(drop=("Date",)),
    "no digest header": dict(drop=("Digest",)),
    "stale date": dict(date=-600),   # seconds from when the test runs (not from import:
    "future date": dict(date=+600),  # a slow suite reaches it minutes later)
    "digest not covered": dict(headers_list="(request-target) host date"),
    "request-target not covered": dict(headers_list="host date digest"),
    "host not covered": dict(headers_list="(request-target) date digest"),
    "hmac algorithm": dict(algorithm="hmac-sha256"),
    "body tampered": dict(digest_of=b'{"type": "Follow", "note": "what was signed"}'),
}


@SLOW
@pytest.mark.parametrize("how", BROKEN)
async def test_broken_signatures_are_refused(peers, how):
    alice, _, bob = await peers()
    broken = dict(BROKEN[how])
    if "date" in broken:
        broken["date"] += time.time()
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob), **broken)
    assert r.code == 401, r.text
    assert r.json()["error"] == "unauthorized"
    assert "Signature" in r.headers["WWW-Authenticate"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_a_signature_by_another_key_is_refused(peers):
    alice, _, bob = await peers()
    _, stranger = keys.generate_pems()
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob), private_pem=stranger)
    assert r.code == 401 and "does not verify" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_a_body_changed_after_signing_is_refused(peers):
    alice, _, bob = await peers()
    signed = follow(alice, bob)
    sent = {**signed, "actor": alice.actor, "object": bob.actor, "id": signed["id"] + "x"}
    r = await signed_post(alice, f"{bob.actor}/inbox", sent, digest_of=json.dumps(signed).encode())
    assert r.code == 401 and "Digest" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_key_owner_must_be_the_actor(peers):
    alice, carol, bob = await peers()
    # carol's activity, signed with alice's (valid) key: alice cannot speak for carol.
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(carol, bob))
    assert r.code == 401 and "someone other" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_actor_on_another_host_than_the_key_is_refused(peers, instances):
    alice, _, bob = await peers()
    c = await instances("c")
    dave = await c.person("dave")
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(dave, bob))
    assert r.code == 401 and "host of the signing key" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_a_key_id_whose_document_claims_another_id_is_refused(peers):
    """Origin check (Mastodon CVE-2024-23832): the fetched actor's id must be the URL fetched."""
    alice, _, bob = await peers()
    # /users/alice?x answers alice's actor, whose id is /users/alice, not the URL fetched.
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob),
                          key_id=f"{alice.actor}?x#main-key")
    assert r.code == 401 and "says it is" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_activities_from_our_own_actors_are_refused(peers, instances):
    alice, _, bob = await peers()
    eve = await bob.instance.person("eve")
    r = await signed_post(eve, f"{bob.actor}/inbox", follow(eve, bob))
    assert r.code == 401 and "own actors" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_an_activity_id_on_another_host_is_ignored(peers):
    alice, _, bob = await peers()
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob, "https://elsewhere.example/f/1"))
    assert r.code == 202
    assert await nothing_changed(bob.instance)


@SLOW
async def test_unstorable_text_in_a_signed_activity_is_400(peers):
    """An unpaired surrogate or NUL in a signed activity is refused, not a 500 at the INSERT."""
    alice, _, bob = await peers()
    activity = follow(alice, bob)
    for bad in ("\\ud800", "\\u0000"):  # JSON escapes: valid JSON, unstorable text
        body = json.dumps(activity).replace(activity["id"], activity["id"] + bad).encode()
        r = await signed_post(alice, f"{bob.actor}/inbox", {}, body=body)
        assert r.code == 400, r.text
    assert await nothing_changed(bob.instance)


@SLOW
async def test_garbage_and_oversized_bodies(peers):
    alice, _, bob = await peers()
    r = await signed_post(alice, f"{bob.actor}/inbox", {}, body=b"not json")
    assert r.code == 400
    r = await signed_post(alice, f"{bob.actor}/inbox", {}, body=b"[" * 300_000)
    assert r.code == 413
    assert await nothing_changed(bob.instance)


@SLOW
async def test_inbox_of_an_unknown_user_and_get(peers):
    alice, _, bob = await peers()
    r = await signed_post(alice, f"{bob.instance.base}/users/nobody/inbox", follow(alice, bob))
    assert r.code == 404
    r = await bob.browser.get("/users/bob/inbox")
    assert r.code == 405


# -- a friendship ended from the other side -----------------------------------------------------


async def befriended_by_hand(alice, bob) -> tuple[dict, str]:
    """alice's Follow, signed by hand, accepted by bob: friends on bob's side (B runs no
    worker, so its Accept and follow-back stay queued) → (alice's Follow, bob's Follow's id)."""
    asked = follow(alice, bob)
    assert (await signed_post(alice, f"{bob.actor}/inbox", asked)).code == 202
    [request] = (await bob.call("/api/friends/requests")).json()["incoming"]
    assert (await bob.call(f"/api/friends/requests/{request['id']}/accept", "POST")).code == 200
    assert await bob.friends() == [alice.acct]
    back = await bob.instance.db.fetchval("SELECT activity_id FROM friend_requests WHERE from_user_id = ?", (bob.id,))
    return asked, back


def ending(kind: str, alice, bob, asked: dict, back: str) -> dict:
    """One way alice's instance may end the friendship: Undo her Follow, or Reject bob's —
    naming it embedded with its id, by its id alone, or embedded by its parties only."""
    objects = {"undo": asked, "reject": {"id": back, "type": "Follow", "actor": bob.actor, "object": alice.actor},
               "reject by id": back, "reject without id": {"type": "Follow", "actor": bob.actor, "object": alice.actor}}
    activity = follow(alice, bob)  # for a fresh id of alice's
    return {**activity, "type": kind.split()[0].capitalize(), "object": objects[kind]}


@SLOW
@pytest.mark.parametrize("kinds", [("undo",), ("reject",), ("reject by id",), ("reject without id",),
                                   ("undo", "reject"), ("reject", "undo")])
async def test_undo_and_reject_each_end_a_friendship_idempotently(peers, kinds):
    """SPEC §6: a peer's removal is an Undo of its Follow and a Reject of ours; either ends the
    friendship, and the other one, or the same again, changes nothing (and is answered 202)."""
    alice, _, bob = await peers()
    asked, back = await befriended_by_hand(alice, bob)
    queued = await bob.instance.count("SELECT count(*) FROM deliveries")
    for kind in kinds + kinds:
        r = await signed_post(alice, f"{bob.actor}/inbox", ending(kind, alice, bob, asked, back))
        assert r.code == 202, r.text
        assert await bob.friends() == []
    assert await bob.requests() == {"incoming": [], "outgoing": []}
    assert await bob.instance.count("SELECT count(*) FROM deliveries") == queued  # nothing answered
    # A Follow now is a new request again, not a follow-back of a friendship still believed in.
    assert (await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob))).code == 202
    assert (await bob.requests())["incoming"] == [(alice.acct, bob.acct)] and await bob.friends() == []


@SLOW
async def test_an_answer_id_reused_for_another_follow_is_applied(peers):
    """Hollo gives every Accept to one follower the same id (`#accepts/<follower>`): after a
    removal, the Accept of bob's new Follow is applied; each delivered twice changes nothing."""
    alice, _, bob = await peers()
    for _ in range(2):
        await bob.ask(alice.acct)  # B runs no worker: its Follow waits in the queue, A answers by hand
        follow_id = await bob.instance.db.fetchval(
            "SELECT activity_id FROM friend_requests WHERE from_user_id = ? AND status = 'pending'", (bob.id,))
        accept = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.actor}#accepts/{bob.actor}",
                  "type": "Accept", "actor": alice.actor,
                  "object": {"id": follow_id, "type": "Follow", "actor": bob.actor, "object": alice.actor}}
        for _ in range(2):
            assert (await signed_post(alice, f"{bob.actor}/inbox", accept)).code == 202
            assert await bob.friends() == [alice.acct] and (await bob.requests())["outgoing"] == []
        reject = ending("reject without id", alice, bob, {}, "")
        assert (await signed_post(alice, f"{bob.actor}/inbox", reject)).code == 202
        assert await bob.friends() == []


@SLOW
async def test_overlong_ids_are_refused(peers):
    """Ids are stored and indexed (PostgreSQL's indexes take ~2.7 KB a row at most): one
    over MAX_ID_BYTES is a 400 and changes nothing."""
    alice, _, bob = await peers()
    prefix = f"{alice.instance.base}/activities/"
    longest = prefix + "x" * (federation.MAX_ID_BYTES - len(prefix))
    too_long = prefix + secrets.token_hex(2 * federation.MAX_ID_BYTES)
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob, too_long))
    assert r.code == 400 and "longer than 1024 bytes" in r.json()["error_description"]
    accept = {**follow(alice, bob), "type": "Accept",
              "object": {"id": too_long, "type": "Follow", "actor": bob.actor, "object": alice.actor}}
    assert (await signed_post(alice, f"{bob.actor}/inbox", accept)).code == 400
    assert (await signed_post(alice, f"{bob.actor}/inbox", {**accept, "object": too_long})).code == 400
    assert await nothing_changed(bob.instance)
    assert (await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob, longest))).code == 202
    assert (await bob.requests())["incoming"] == [(alice.acct, bob.acct)]


def test_an_actor_with_an_overlong_url_or_key_id_is_refused():
    public, _ = keys.generate_pems()

    def actor(url: str, key_id: str) -> dict:
        return {"id": url, "type": "Person", "inbox": "https://peer.example/inbox", "preferredUsername": "bob",
                "publicKey": {"id": key_id, "owner": url, "publicKeyPem": public}}
    url, long_url = "https://peer.example/users/bob", "https://peer.example/users/" + secrets.token_hex(600)
    assert actors.parse_actor(url, actor(url, url + "#main-key")).acct == "bob@peer.example"
    with pytest.raises(actors.ActorError, match="too long"):
        actors.parse_actor(long_url, actor(long_url, long_url + "#main-key"))
    with pytest.raises(actors.ActorError, match="no RSA public key"):
        actors.parse_actor(url, actor(url, long_url + "#main-key"))


# -- replays and key rotation -------------------------------------------------------------------


@SLOW
async def test_the_same_activity_twice_changes_nothing_the_second_time(peers):
    alice, _, bob = await peers()
    activity = follow(alice, bob)
    assert (await signed_post(alice, f"{bob.actor}/inbox", activity)).code == 202
    [request] = (await bob.call("/api/friends/requests")).json()["incoming"]
    assert (await bob.call(f"/api/friends/requests/{request['id']}/decline", "POST")).code == 200
    # A retry (or a replay inside the Date window) of the same Follow, freshly signed:
    assert (await signed_post(alice, f"{bob.actor}/inbox", activity)).code == 202
    assert (await bob.requests())["incoming"] == []
    assert await bob.instance.count("SELECT count(*) FROM friend_requests") == 1
    # A new Follow (a new id) is a new request.
    assert (await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob))).code == 202
    assert (await bob.requests())["incoming"] == [(alice.acct, bob.acct)]


@SLOW
async def test_a_rotated_key_is_fetched_again(peers, monkeypatch):
    alice, _, bob = await peers()
    assert (await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob))).code == 202
    public, private = keys.generate_pems()
    await alice.instance.db.execute("UPDATE actor_keys SET public_pem = ?, private_pem = ? WHERE user_id = ?",
                                    (public, private, alice.id))
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob))
    assert r.code == 401  # the cached key was fetched moments ago: no refetch yet
    monkeypatch.setattr(inbox, "REFETCH_AFTER", 0)
    r = await signed_post(alice, f"{bob.actor}/inbox", follow(alice, bob))
    assert r.code == 202, r.text
    cached = await fed_store.get_remote_actor(bob.instance.db, alice.actor)
    assert cached.public_pem == public


# -- SSRF: private addresses only when allowed ---------------------------------------------------


@pytest.fixture
def no_connections(monkeypatch):
    class Forbidden:
        def __init__(self, *args, **kwargs):
            raise AssertionError("a connection was attempted")
    monkeypatch.setattr(net, "SimpleAsyncHTTPClient", Forbidden)


@SLOW
async def test_keys_on_private_addresses_are_not_fetched_unless_allowed(instances, no_connections):
    a = await instances("a")
    c = await instances("c", allow_private=False)
    alice, carol = await a.person("alice"), await c.person("carol")
    r = await signed_post(alice, f"{carol.actor}/inbox", follow(alice, carol))
    assert r.code == 401 and "cannot get the signing key" in r.json()["error_description"]
    assert await nothing_changed(c)


@SLOW
@pytest.mark.parametrize("acct", ["bob@127.0.0.1:9", "bob@10.0.0.1", "bob@169.254.169.254",
                                  "bob@localhost", "bob@localhost:8080"])
async def test_deliveries_to_private_addresses_are_refused_unless_allowed(instances, no_connections, acct):
    c = await instances("c", allow_private=False)
    carol = await c.person("carol")
    r = await carol.call("/api/friends/requests", "POST", {"to": acct})
    assert r.code == 201, r.text
    await delivery.DeliveryWorker(c.app.federation).run_once()
    row = await c.db.fetchone("SELECT attempts, last_error, delivered_at FROM deliveries")
    assert row["attempts"] == 1 and row["delivered_at"] is None
    assert any(word in row["last_error"] for word in ("loopback", "private", "link-local", "https")), row


# -- actors --------------------------------------------------------------------------------------


@SLOW
@pytest.mark.parametrize("accept", [AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                                    "application/ld+json", f"text/html, {AP}"])
async def test_actor_document(instances, accept):
    a = await instances("a")
    alice = await a.person("alice")
    await a.db.execute("UPDATE users SET display_name = 'Alice A', bio = 'likes <b>tea</b>' WHERE id = ?",
                       (alice.id,))
    r = await alice.browser.get("/users/alice", headers={"Accept": accept})
    assert r.code == 200, r.text
    assert r.headers["Content-Type"] == AP and "Accept" in r.headers["Vary"]
    doc = r.json()
    url = alice.actor
    assert doc["@context"] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
                              {"manuallyApprovesFollowers": "as:manuallyApprovesFollowers"}]
    assert doc["manuallyApprovesFollowers"] is True
    assert {k: doc[k] for k in ("id", "type", "preferredUsername", "name", "url", "inbox", "outbox",
                                "followers", "following")} == {
        "id": url, "type": "Person", "preferredUsername": "alice", "name": "Alice A", "url": f"{a.base}/u/alice",
        "inbox": f"{url}/inbox", "outbox": f"{url}/outbox", "followers": f"{url}/followers",
        "following": f"{url}/following"}
    assert doc["summary"] == "<p>likes &lt;b&gt;tea&lt;/b&gt;</p>"
    assert doc["endpoints"] == {"sharedInbox": f"{a.base}/inbox"}
    key = doc["publicKey"]
    assert key["id"] == f"{url}#main-key" and key["owner"] == url
    public = serialization.load_pem_public_key(key["publicKeyPem"].encode())
    assert public.key_size == 2048
    assert "PRIVATE" not in r.text


@SLOW
@pytest.mark.parametrize("accept", [None, "text/html", "*/*", "application/json"])
async def test_browsers_are_sent_to_the_profile_page(instances, accept):
    a = await instances("a")
    alice = await a.person("alice")
    r = await alice.browser.get("/users/alice", headers={"Accept": accept} if accept else {})
    assert r.code == 302 and r.location == "/u/alice"


@SLOW
async def test_unknown_actor_and_collections(instances):
    a = await instances("a")
    alice = await a.person("alice")
    r = await alice.browser.get("/users/nobody", headers={"Accept": AP})
    assert r.code == 404
    assert (await alice.browser.get("/users/nobody")).code == 404
    await a.db.execute("INSERT INTO friendships (user_id, friend_acct, since) VALUES (?, 'x@y.example', 1)",
                       (alice.id,))
    for which, total in (("outbox", 0), ("followers", 1), ("following", 1)):
        r = await alice.browser.get(f"/users/alice/{which}", headers={"Accept": AP})
        assert r.code == 200 and r.headers["Content-Type"] == AP
        assert r.json() == {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.actor}/{which}",
                            "type": "OrderedCollection", "totalItems": total}


@SLOW
async def test_the_key_pair_is_made_once_and_kept(instances):
    a = await instances("a")
    alice = await a.person("alice")
    assert await a.count("SELECT count(*) FROM actor_keys") == 0  # made on first need, not at signup
    first = (await alice.browser.get("/users/alice", headers={"Accept": AP})).json()["publicKey"]
    second = (await alice.browser.get("/users/alice", headers={"Accept": AP})).json()["publicKey"]
    assert first == second and await a.count("SELECT count(*) FROM actor_keys") == 1
    pair = await keys.key_pair(a.db, alice.id)
    assert "PRIVATE" not in repr(pair)


# -- signatures, unit by unit ----------------------------------------------------------------------


def test_sign_then_check_round_trip():
    public, private = keys.generate_pems()
    body = b'{"type":"Follow"}'
    now = time.time()
    headers = HTTPHeaders(signatures.sign_request("POST", "https://b.example/users/bob/inbox?x=1", body,
                                                  "https://a.example/users/alice#main-key", private, now))
    assert headers["Host"] == "b.example" and headers["Digest"].startswith("SHA-256=")
    assert 'headers="(request-target) host date digest"' in headers["Signature"]
    parsed = signatures.check_request("POST", "/users/bob/inbox?x=1", headers, body, now)
    assert parsed.key_id == "https://a.example/users/alice#main-key"
    assert parsed.signed.startswith(b"(request-target): post /users/bob/inbox?x=1\nhost: b.example\n")
    assert keys.verify(public, parsed.signature, parsed.signed)
    other = signatures.check_request("POST", "/users/bob/inbox", headers, body, now)
    assert not keys.verify(public, other.signature, other.signed)


def test_get_signatures_cover_request_target_host_and_date():
    _, private = keys.generate_pems()
    headers = signatures.sign_request("GET", "https://b.example/users/bob", None, "k", private, time.time())
    assert 'headers="(request-target) host date"' in headers["Signature"] and "Digest" not in headers


@pytest.fixture
def key_loads(monkeypatch):
    """An empty key cache, and a list of the PEMs keys.py loads from now on."""
    from collections import OrderedDict
    monkeypatch.setattr(keys, "_private_keys", OrderedDict())
    loads, load = [], serialization.load_pem_private_key

    def counting(data, *args, **kwargs):
        loads.append(data)
        return load(data, *args, **kwargs)
    monkeypatch.setattr(keys.serialization, "load_pem_private_key", counting)
    return loads


def test_a_users_key_is_loaded_once_for_many_signatures(key_loads):
    public, private = keys.generate_pems()
    first = signatures.sign_request("POST", "https://b.example/inbox", b"1", "k", private, time.time(), 7)
    second = keys.sign(private, b"two", user_id=7)
    assert len(key_loads) == 1
    assert keys.verify(public, second, b"two")
    parsed = signatures.check_request("POST", "/inbox", HTTPHeaders(first), b"1", time.time())
    assert keys.verify(public, parsed.signature, parsed.signed)
    keys.sign(private, b"three")  # no owner named: loaded, not cached
    assert len(key_loads) == 2


def test_the_key_cache_never_mixes_keys_up_and_stays_small(key_loads, monkeypatch):
    (public, private), (other_public, other_private) = keys.generate_pems(), keys.generate_pems()
    keys.sign(private, b"x", user_id=1)
    # Same id, another key (a second instance in this process, an id reused): that key signs.
    assert keys.verify(other_public, keys.sign(other_private, b"x", user_id=1), b"x")
    assert keys.verify(public, keys.sign(private, b"x", user_id=1), b"x")
    assert len(key_loads) == 3
    monkeypatch.setattr(keys, "CACHED_KEYS", 2)
    for user_id in (1, 2, 3):
        keys.sign(private, b"x", user_id=user_id)
    assert list(keys._private_keys) == [2, 3]  # the least recently used went first


@pytest.mark.parametrize("value", [
    'keyId="k",algorithm="hs2019",headers="(request-target) host date digest",signature="YQ=="',
    'keyId="k", algorithm="rsa-sha256", headers="(request-target) host date digest", signature="YQ=="',
    'keyId="k",headers="(request-target) host date digest",signature="YQ==",created=1,expires=99999999999'])
def test_signature_header_forms_accepted(value):
    assert signatures.parse_header(value)["keyId"] == "k"


@pytest.mark.parametrize("value", ['keyId="k"', 'signature="x"', 'keyId="k",signature="x",bad', "x" * 9000, ""])
def test_signature_header_forms_refused(value):
    with pytest.raises(signatures.SignatureError):
        signatures.parse_header(value)


def test_digest_forms():
    body = b"hello"
    good = signatures.body_digest(body)
    signatures.check_digest(good, body)
    signatures.check_digest(f"SHA-512=abc, {good.replace('SHA-256', 'sha-256')}", body)
    for bad in (None, "", "SHA-512=abc", "SHA-256=", good + "x", signatures.body_digest(b"other")):
        with pytest.raises(signatures.SignatureError):
            signatures.check_digest(bad, body)


def test_weak_and_non_rsa_keys_are_refused():
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    curve = ec.generate_private_key(ec.SECP256R1()).public_key()
    for key in (weak, curve):
        pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        assert keys.load_public(pem) is None
    assert keys.load_public("not a key") is None
