"""The /friends page (SPEC §2): the same flow as the API through plain HTML forms."""
from __future__ import annotations

import pytest

from confirm_helpers import ask, confirm
from gancio_like.services import accounts


@pytest.fixture
def member(make_browser, make_user):
    """`await member("alice")` → a browser logged in as a new user."""
    async def make(name: str, display_name: str = ""):
        browser = make_browser()
        browser.user_id = await make_user(name, display_name=display_name)
        await browser.login(name)
        return browser
    return make


async def last_request_id(db) -> int:
    return await db.fetchval("SELECT max(id) FROM friend_requests")


@pytest.mark.gen_test
async def test_login_required(browser):
    r = await browser.get("/friends")
    assert r.code == 302 and r.location.startswith("/login?next=%2Ffriends")
    for path in ("/friends/requests", "/friends/requests/1/accept", "/friends/remove"):
        assert (await browser.post(path, {"name": "bob", "acct": "bob"})).code == 403


@pytest.mark.gen_test
async def test_empty_page_has_every_section(member):
    alice = await member("alice")
    r = await alice.get("/friends")
    assert r.code == 200
    for text in ("Add a friend", 'name="name"', "Your friends", "No friends yet", "People like you",
                 'action="/friends/requests"', 'name="_xsrf"'):
        assert text in r.text, text
    assert 'name="viewport"' in r.text


@pytest.mark.gen_test
async def test_send_accept_remove_through_forms(member, app, db):
    alice, bob = await member("alice", "Alice A."), await member("bob", "Bob B.")
    domain = app.cfg.domain
    r = await alice.post("/friends/requests", {"name": "bob"})
    assert r.code == 303 and r.location == "/friends?done=sent"
    page = await alice.get(r.location)
    assert "Friend request sent." in page.text and f"bob@{domain}" in page.text and "Cancel request" in page.text

    request_id = await last_request_id(db)
    page = await bob.get("/friends")
    assert f"alice@{domain}" in page.text and f'/friends/requests/{request_id}/accept' in page.text
    r = await bob.post(f"/friends/requests/{request_id}/accept", {})
    assert r.code == 303 and r.location == "/friends?done=accepted"
    page = await bob.get(r.location)
    assert "you are now friends" in page.text and "Alice A." in page.text and 'value="alice@' in page.text

    page = await alice.get("/friends")
    assert "Bob B." in page.text and "friends since" in page.text
    r = await confirm(alice, "/friends/remove", {"acct": f"bob@{domain}"})
    assert r.code == 303 and r.location == "/friends?done=removed"
    assert "Friend removed." in (await alice.get(r.location)).text
    assert await db.fetchval("SELECT count(*) FROM friendships") == 0


@pytest.mark.gen_test
async def test_removing_a_friend_asks_first(member, app, db):
    """Nothing happens until the confirm page's button is pressed; Cancel goes back to /friends."""
    alice, bob = await member("alice"), await member("bob")
    await alice.post("/friends/requests", {"name": "bob"})
    await bob.post(f"/friends/requests/{await last_request_id(db)}/accept", {})
    for form in ({"acct": "bob"}, {"acct": "bob", "confirm": "no"}, {"acct": "bob", "confirm": ""}):
        r = await alice.post("/friends/remove", form)
        assert r.code == 200 and "Remove friend" in r.text, form
    page = await ask(alice, "/friends/remove", {"acct": "bob"})
    assert page.question == f"Remove bob@{app.cfg.domain} from your friends?"
    assert page.fields == [("acct", "bob")] and page.action == "/friends/remove" and page.cancel == "/friends"
    assert await db.fetchval("SELECT count(*) FROM friendships") == 2
    r = await alice.post("/friends/remove", {"acct": "bob", "confirm": "yes"}, xsrf=False)
    assert r.code == 403 and await db.fetchval("SELECT count(*) FROM friendships") == 2  # still a form POST
    r = await alice.post("/friends/remove", {"acct": "carol"})  # no such friend: nothing to ask about
    assert r.code == 400 and "no such friend" in r.text and "Remove friend" not in r.text
    assert (await confirm(alice, "/friends/remove", {"acct": "bob"})).code == 303
    assert await db.fetchval("SELECT count(*) FROM friendships") == 0


@pytest.mark.gen_test
async def test_decline_and_cancel_through_forms(member, db):
    alice, bob = await member("alice"), await member("bob")
    await alice.post("/friends/requests", {"name": "bob"})
    r = await bob.post(f"/friends/requests/{await last_request_id(db)}/decline", {})
    assert r.code == 303 and r.location == "/friends?done=declined"
    await alice.post("/friends/requests", {"name": "bob"})
    r = await alice.post(f"/friends/requests/{await last_request_id(db)}/cancel", {})
    assert r.code == 303 and r.location == "/friends?done=cancelled"
    statuses = [row[0] for row in await db.fetchall("SELECT status FROM friend_requests ORDER BY id")]
    assert statuses == ["declined", "cancelled"]


@pytest.mark.gen_test
async def test_asking_back_befriends_at_once(member, db):
    alice, bob = await member("alice"), await member("bob")
    await alice.post("/friends/requests", {"name": "bob"})
    r = await bob.post("/friends/requests", {"name": "alice"})
    assert r.code == 303 and r.location == "/friends?done=befriended"
    assert await db.fetchval("SELECT count(*) FROM friendships") == 2


@pytest.mark.gen_test
async def test_refused_actions_rerender_with_400(member, db):
    alice, bob = await member("alice"), await member("bob")
    cases = [("/friends/requests", {"name": "nobody"}, "no such user"),
             ("/friends/requests", {"name": "alice"}, "yourself"),
             ("/friends/requests", {"name": "not a name"}, "bob@other.example"),
             ("/friends/remove", {"acct": "bob"}, "no such friend")]
    for path, form, words in cases:
        r = await alice.post(path, form)
        assert r.code == 400 and words in r.text and "Add a friend" in r.text, (form, r.text)
    r = await alice.post("/friends/requests", {"name": "nobody"})
    assert 'value="nobody"' in r.text  # what was typed stays, to be corrected

    await alice.post("/friends/requests", {"name": "bob"})
    r = await alice.post("/friends/requests", {"name": "bob"})
    assert r.code == 400 and "already sent" in r.text
    request_id = await last_request_id(db)
    r = await alice.post(f"/friends/requests/{request_id}/accept", {})  # not the recipient
    assert r.code == 400 and "no such friend request" in r.text
    r = await bob.post(f"/friends/requests/{request_id}/cancel", {})  # not the sender
    assert r.code == 400 and "no such friend request" in r.text
    assert (await bob.post(f"/friends/requests/{request_id}/accept", {})).code == 303
    r = await bob.post(f"/friends/requests/{request_id}/decline", {})
    assert r.code == 400 and "already accepted" in r.text


@pytest.mark.gen_test
async def test_every_form_needs_xsrf(member, db):
    alice, bob = await member("alice"), await member("bob")
    await alice.post("/friends/requests", {"name": "bob"})
    request_id = await last_request_id(db)
    posts = [(alice, "/friends/requests", {"name": "carol"}), (bob, f"/friends/requests/{request_id}/accept", {}),
             (bob, f"/friends/requests/{request_id}/decline", {}), (alice, f"/friends/requests/{request_id}/cancel", {}),
             (alice, "/friends/remove", {"acct": "bob"})]
    for who, path, form in posts:
        r = await who.post(path, form, xsrf=False)
        assert r.code == 403, path
    assert await db.fetchval("SELECT status FROM friend_requests") == "pending"


@pytest.mark.gen_test
async def test_people_like_you_with_reasons_and_add(member, app, db):
    alice, _ = await member("alice"), await member("bob", "Bob <b>B</b>")
    await accounts.update_profile(db, alice.user_id, "", "", "hiking, jazz")
    bob_id = await db.fetchval("SELECT id FROM users WHERE username = 'bob'")
    await accounts.update_profile(db, bob_id, "Bob <b>B</b>", "", "jazz, hiking, chess")
    page = await alice.get("/friends")
    assert "2 shared interests: hiking, jazz" in page.text
    assert "Bob &lt;b&gt;B&lt;/b&gt;" in page.text and "<b>B</b>" not in page.text
    assert 'name="name" value="bob"' in page.text
    r = await alice.post("/friends/requests", {"name": "bob"})
    assert r.code == 303
    page = await alice.get("/friends")
    assert "2 shared interests" not in page.text  # a pending request takes them off the list


@pytest.mark.gen_test
async def test_friends_list_pages(member, make_user, db):
    from gancio_like.handlers.friends import FRIENDS_SHOWN
    from gancio_like.storage import friends as store
    alice = await member("alice")
    async with db.transaction() as tx:
        for i in range(FRIENDS_SHOWN + 1):
            await store.insert_friendship(tx, alice.user_id, None, f"p{i}@remote.example", 1000 + i)
    page = await alice.get("/friends")
    assert "p50@remote.example" in page.text and "p0@remote.example" not in page.text
    link = page.text.split('href="/friends?cursor=')[1].split('"')[0]
    more = await alice.get(f"/friends?cursor={link}")
    assert more.code == 200 and "p0@remote.example" in more.text
    assert (await alice.get("/friends?cursor=forged")).code == 400
