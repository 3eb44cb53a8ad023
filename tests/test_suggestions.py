""""People like you" (SPEC §4 `GET /api/people/suggestions`): ranking, reasons,
exclusions, and speed on 10 000 users with 100 000 friendships."""
from __future__ import annotations

import random
import time

import pytest

from gancio_like.models import Suggestion, User
from gancio_like.services import accounts, friends, suggestions
from gancio_like.storage import friends as store
from oauth_helpers import api, full_flow, register


async def token_for(browser, make_user, name: str = "alice") -> tuple[int, str]:
    user_id = await make_user(name)
    await browser.login(name)
    client = await register(browser, scope="profile friends:read friends:write")
    return user_id, (await full_flow(browser, client, scope="friends:read"))["access_token"]


async def users(make_user, db, **interests: str) -> dict[str, int]:
    """{name: id} for new users with the given comma-separated interests."""
    ids = {}
    for name, tags in interests.items():
        ids[name] = await make_user(name)
        await accounts.update_profile(db, ids[name], "", "", tags)
    return ids


async def befriend(db, a: int, b: int) -> None:
    async with db.transaction() as tx:
        await store.insert_friendship(tx, a, b, None, 1)
        await store.insert_friendship(tx, b, a, None, 1)


def suggestion(tags=(), mutual=0) -> Suggestion:
    return Suggestion(User(1, "bob", "", "", False, 0), float(len(tags) + mutual), tuple(tags), mutual)


# -- reasons -------------------------------------------------------------------------------------

def test_reasons_read_as_sentences():
    assert suggestions.reasons(suggestion(("go", "hiking", "jazz"), 2)) == [
        "3 shared interests: go, hiking, jazz", "2 mutual friends"]
    assert suggestions.reasons(suggestion(("jazz",), 1)) == ["1 shared interest: jazz", "1 mutual friend"]
    assert suggestions.reasons(suggestion((), 4)) == ["4 mutual friends"]
    many = suggestions.reasons(suggestion(tuple("abcdefg")))
    assert many == ["7 shared interests: a, b, c, d, e, …"]


# -- ranking and exclusions ------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_ranked_by_shared_interests_and_mutual_friends(browser, make_user, db, app):
    me, token = await token_for(browser, make_user)
    await accounts.update_profile(db, me, "", "", "hiking, jazz, go")
    ids = await users(make_user, db, bob="go, jazz, hiking, chess", carol="jazz", dave="knitting",
                      frank="go", x="", y="", erin="opera")
    for friend in ("x", "y"):
        await befriend(db, me, ids[friend])
        await befriend(db, ids["dave"], ids[friend])  # dave: 2 mutual friends
    await befriend(db, ids["frank"], ids["x"])        # frank: 1 shared + 1 mutual
    r = await api(browser, "/api/people/suggestions", token)
    assert r.code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    ranked = [(i["user"]["username"], i["score"], i["reasons"]) for i in body["items"]]
    assert ranked == [
        ("bob", 3, ["3 shared interests: go, hiking, jazz"]),
        ("frank", 2, ["1 shared interest: go", "1 mutual friend"]),   # ties: more shared interests first
        ("dave", 2, ["2 mutual friends"]),
        ("carol", 1, ["1 shared interest: jazz"]),
    ]  # never alice herself, her friends x and y, nor erin (nothing in common)
    first = body["items"][0]
    assert first["user"]["acct"] == f"bob@{app.cfg.domain}" and first["user"]["interests"] == [
        "chess", "go", "hiking", "jazz"]
    assert first["shared_interests"] == ["go", "hiking", "jazz"] and first["mutual_friends"] == 0


@pytest.mark.gen_test
async def test_pending_requests_either_way_exclude(make_user, db, inst):
    ids = await users(make_user, db, alice="jazz", bob="jazz", carol="jazz", dave="jazz")
    await friends.send_request(inst, ids["alice"], "bob")    # outgoing
    await friends.send_request(inst, ids["carol"], "alice")  # incoming
    names = [s.user.username for s in await suggestions.suggest(db, ids["alice"], 20)]
    assert names == ["dave"]
    incoming = await db.fetchval("SELECT id FROM friend_requests WHERE from_user_id = ?", (ids["carol"],))
    await friends.decline_request(inst, ids["alice"], incoming)  # declined: suggested again
    names = [s.user.username for s in await suggestions.suggest(db, ids["alice"], 20)]
    assert names == ["carol", "dave"]


@pytest.mark.gen_test
async def test_limit(browser, make_user, db):
    me, token = await token_for(browser, make_user)
    await accounts.update_profile(db, me, "", "", "jazz")
    await users(make_user, db, bob="jazz", carol="jazz")
    r = await api(browser, "/api/people/suggestions?limit=1", token)
    assert r.code == 200 and len(r.json()["items"]) == 1 and r.json()["next_cursor"] is None
    for bad in ("0", "101", "abc"):
        r = await api(browser, f"/api/people/suggestions?limit={bad}", token)
        assert r.code == 400 and "limit" in r.json()["error_description"]


# -- at scale --------------------------------------------------------------------------------------

N_USERS, N_FRIENDSHIPS, N_TAGS = 10_000, 100_000, 300
CTES = {"me", "signals", "s", "CONSTANT"}  # what the plan may SCAN: our own small CTEs, never a table


def seed(first_id: int) -> tuple[list, list, set]:
    """Users first_id+1 … N_USERS (the first is the logged-in one), 5 tags each, random friendships."""
    rng = random.Random(5)
    people = [(i, f"u{i:05d}", "x", 0) for i in range(first_id + 1, N_USERS + 1)]
    interests = {(i, f"tag{rng.randrange(N_TAGS)}") for i in range(first_id, N_USERS + 1) for _ in range(5)}
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < N_FRIENDSHIPS:
        a, b = rng.randint(first_id, N_USERS), rng.randint(first_id, N_USERS)
        if a != b:
            pairs.add((min(a, b), max(a, b)))
    return people, sorted(interests), pairs


def expected_ranking(me: int, interests: list, pairs: set, limit: int) -> list[tuple[str, float]]:
    """The same ranking worked out the slow way, over everything."""
    tags_of: dict[int, set] = {}
    for user_id, tag in interests:
        tags_of.setdefault(user_id, set()).add(tag)
    friends_of: dict[int, set] = {}
    for a, b in pairs:
        friends_of.setdefault(a, set()).add(b)
        friends_of.setdefault(b, set()).add(a)
    mine, my_friends = tags_of.get(me, set()), friends_of.get(me, set())
    rows = []
    for other in range(me + 1, N_USERS + 1):
        if other in my_friends:
            continue
        shared, mutual = len(mine & tags_of.get(other, set())), len(my_friends & friends_of.get(other, set()))
        if shared + mutual:
            rows.append((-(shared + mutual), -shared, f"u{other:05d}"))
    return [(name, float(-score)) for score, _, name in sorted(rows)[:limit]]


@pytest.mark.sqlite_only  # reads SQLite's EXPLAIN QUERY PLAN
@pytest.mark.gen_test(timeout=120)
async def test_fast_and_indexed_on_10k_users_100k_friendships(browser, make_user, db):
    me, token = await token_for(browser, make_user)  # user 1: part of the crowd below
    people, interests, pairs = seed(me)
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
                             people)
        await tx.executemany("INSERT INTO user_interests (user_id, tag) VALUES (?, ?)", interests)
        await tx.executemany("INSERT INTO friendships (user_id, friend_id, since) VALUES (?, ?, 1)",
                               [p for a, b in pairs for p in ((a, b), (b, a))])
    assert await db.fetchval("SELECT count(*) FROM friendships") == 2 * N_FRIENDSHIPS

    plan = [row["detail"] for row in await db.fetchall("EXPLAIN QUERY PLAN " + store.SUGGESTIONS_SQL, (me, 100))]
    scans = [d for d in plan if d.startswith("SCAN ") and d.split()[1] not in CTES]
    assert not scans, plan
    assert any("user_interests_by_tag" in d for d in plan) and any("friendships_local" in d for d in plan)

    started = time.perf_counter()
    r = await api(browser, "/api/people/suggestions?limit=100", token)
    elapsed = time.perf_counter() - started
    print(f"\nsuggestions over {N_USERS} users / {N_FRIENDSHIPS} friendships: {elapsed * 1000:.1f} ms")
    assert r.code == 200 and elapsed < 1.5
    got = [(i["user"]["username"], i["score"]) for i in r.json()["items"]]
    assert got == expected_ranking(me, interests, pairs, 100)

    started = time.perf_counter()
    r = await api(browser, "/api/friends?limit=100", token)
    print(f"friends page of {len(r.json()['items'])}: {(time.perf_counter() - started) * 1000:.1f} ms")
    assert r.code == 200 and time.perf_counter() - started < 1.5
