"""The people pages of issue 19 (SPEC §2): the home page, `/@NAME` with "Add from your
instance", `/friends?add=ACCT`, and the optional email on /settings."""
from __future__ import annotations

import urllib.parse

import pytest

from gancio_like.services import remote_follow
from gancio_like.errors import ValidationError


async def logged_in(make_browser, make_user, name: str, **kw):
    user_id = await make_user(name, **kw)
    browser = make_browser()
    await browser.login(name)
    return browser, user_id


# -- home -------------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_a_new_account_gets_first_steps_not_an_empty_page(make_browser, make_user):
    alice, _ = await logged_in(make_browser, make_user, "alice")
    page = (await alice.get("/")).text
    assert "Getting started" in page and 'href="/settings">Add your interests' in page
    assert 'href="/friends">Find people' in page and "Nothing planned yet" in page


@pytest.mark.gen_test
async def test_home_lists_requests_events_and_people_like_you(make_browser, make_user, db):
    alice, alice_id = await logged_in(make_browser, make_user, "alice", display_name="Alice")
    bob, bob_id = await logged_in(make_browser, make_user, "bob", display_name="Bob")
    carol, _ = await logged_in(make_browser, make_user, "carol", display_name="Carol")
    for who in (alice, carol):
        await who.post("/settings", {"display_name": "", "bio": "", "interests": "chess, tea"})
    await bob.post("/friends/requests", {"name": "alice"})
    await bob.post("/events/new", {"title": "Bob draft", "start_datetime": "2031-01-01T10:00"})
    await alice.post("/events/new", {"title": "Alice picnic", "start_datetime": "2031-02-01T10:00",
                                     "published": "true"})
    page = (await alice.get("/")).text
    assert "Asking to be your friend" in page and "bob@" in page
    assert "Alice picnic" in page and "Bob draft" not in page
    assert "People like you" in page and "/u/carol" in page and "chess" in page

    request_id = await db.fetchval("SELECT id FROM friend_requests")
    resp = await alice.post(f"/friends/requests/{request_id}/accept", {"next": "/"})
    assert resp.code == 303 and resp.location == "/?done=accepted"
    assert "you are now friends" in (await alice.get(resp.location)).text
    await bob.post("/events/new", {"title": "Bob concert", "start_datetime": "2031-03-01T10:00",
                                   "published": "true"})
    page = (await alice.get("/")).text
    assert "Bob concert" in page and "Bob draft" not in page and "Asking to be your friend" not in page
    assert page.index("Alice picnic") < page.index("Bob concert")  # soonest first
    assert "Getting started" not in page  # a friend and interests: the lists speak for themselves


@pytest.mark.gen_test
async def test_home_shows_remote_friends_events_too_and_no_strangers(make_browser, make_user, db):
    alice, alice_id = await logged_in(make_browser, make_user, "alice")
    await db.execute("INSERT INTO friendships (user_id, friend_acct, since) VALUES (?, 'dora@far.example', 1)",
                     (alice_id,))
    for n, (acct, title) in enumerate((("dora@far.example", "Dora hike"), ("eve@far.example", "Eve party"))):
        await db.execute(
            "INSERT INTO remote_events (uri, actor_uri, acct, url, title, start_datetime, received_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 2000000000, 0, 0)",
            (f"https://far.example/e/{n}", f"https://far.example/u/{n}", acct, f"https://far.example/e/{n}", title))
    page = (await alice.get("/")).text
    assert "Dora hike" in page and "Eve party" not in page  # a friend's, not a stranger's
    assert "/avatars/remote/dora@far.example" in page and 'href="/events/remote/' in page


@pytest.mark.gen_test
async def test_decline_from_home_and_a_foreign_next_goes_to_friends(make_browser, make_user, db):
    alice, _ = await logged_in(make_browser, make_user, "alice")
    bob, _ = await logged_in(make_browser, make_user, "bob")
    await bob.post("/friends/requests", {"name": "alice"})
    request_id = await db.fetchval("SELECT id FROM friend_requests")
    resp = await alice.post(f"/friends/requests/{request_id}/decline", {"next": "https://evil.example/"})
    assert resp.code == 303 and resp.location == "/friends?done=declined"


@pytest.mark.gen_test
async def test_visitors_get_a_welcome_with_the_instance_and_its_public_events(browser, make_user, db, app):
    alice = await make_user("alice")
    for title, published in (("Open day", 1), ("Secret draft", 0)):
        await db.execute("INSERT INTO events (owner_id, title, description, start_datetime, place_name, "
                         "place_address, published, created_at, updated_at) VALUES (?, ?, '', 2000000000, '', '', ?, 0, 0)",
                         (alice, title, published))
    page = (await browser.get("/")).text
    assert app.cfg.instance.name in page and "Open day" in page and "Secret draft" not in page
    assert 'href="/signup"' in page and 'href="/login"' in page


# -- /@NAME and "Add from your instance" ----------------------------------------------------------------

@pytest.mark.gen_test
async def test_at_name_is_the_profile(browser, make_user):
    await make_user("alice", display_name="Alice Liddell")
    a, b = await browser.get("/@alice"), await browser.get("/u/alice")
    assert a.code == b.code == 200 and "Alice Liddell" in a.text
    assert "Add from your instance" in a.text
    assert (await browser.get("/@nobody")).code == 404


@pytest.mark.gen_test
async def test_a_visitor_is_sent_to_their_instance_add_form(browser, make_user, app):
    await make_user("alice")
    here = app.cfg.domain
    for typed, there in (("social.example", "https://social.example"),
                         ("https://Social.Example/", "https://social.example"),
                         ("@me@social.example", "https://social.example"),
                         ("fync.example:8443", "https://fync.example:8443"),
                         ("localhost:8080", "http://localhost:8080"),
                         ("127.0.0.1:9000", "http://127.0.0.1:9000")):
        resp = await browser.get("/@alice?" + urllib.parse.urlencode({"domain": typed}))
        assert resp.code == 303, typed
        assert resp.location == f"{there}/friends?add=alice@{urllib.parse.quote(here, safe='')}", typed


@pytest.mark.parametrize("typed", ["", "not a domain", "evil.example/path", "evil.example?x=1", "javascript:alert(1)",
                                   "a" * 300 + ".example", "evil.example:99999", "//evil.example", "ex ample.org"])
@pytest.mark.gen_test
async def test_anything_but_a_domain_is_refused_on_the_page(browser, make_user, typed):
    await make_user("alice")
    resp = await browser.get("/@alice?" + urllib.parse.urlencode({"domain": typed}))
    assert resp.code == 400 and "give your instance" in resp.text and resp.location is None


def test_the_redirect_can_only_go_to_the_root_of_a_host():
    assert remote_follow.add_friend_url("social.example", "alice@fync.example") == \
        "https://social.example/friends?add=alice@fync.example"
    with pytest.raises(ValidationError):
        remote_follow.add_friend_url("social.example@evil.example/x", "alice@fync.example")


@pytest.mark.gen_test
async def test_someone_logged_in_gets_an_add_button_instead(make_browser, make_user):
    await make_user("alice", display_name="Alice")
    bob, _ = await logged_in(make_browser, make_user, "bob")
    page = (await bob.get("/@alice")).text
    assert "Add from your instance" not in page and "Add Alice as a friend" in page
    await bob.post("/friends/requests", {"name": "alice"})
    assert "waiting for an answer" in (await bob.get("/@alice")).text
    assert "Edit your profile" in (await bob.get("/@bob")).text


# -- /friends?add=ACCT ---------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_friends_add_fills_in_the_form(make_browser, make_user):
    alice, _ = await logged_in(make_browser, make_user, "alice")
    page = await alice.get("/friends?add=" + urllib.parse.quote("bob@other.example"))
    assert page.form_value("name") == "bob@other.example"
    page = await alice.get("/friends?add=" + urllib.parse.quote('"><script>alert(1)</script>'))
    assert "<script>alert(1)" not in page.text and page.form_value("name") == "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.mark.gen_test
async def test_friends_add_logged_out_goes_through_login_and_back(browser, make_user):
    await make_user("alice")
    resp = await browser.get("/friends?add=bob@other.example")
    assert resp.code == 302
    login = urllib.parse.urlsplit(resp.location)
    assert login.path == "/login"
    back = urllib.parse.parse_qs(login.query)["next"][0]
    assert back == "/friends?add=bob@other.example"
    resp = await browser.post("/login", {"username": "alice", "password": "correct horse battery", "next": back})
    assert resp.location == back
    assert (await browser.get(back)).form_value("name") == "bob@other.example"


# -- email on /settings ----------------------------------------------------------------------------------

PROFILE = {"display_name": "", "bio": "", "interests": ""}


@pytest.mark.gen_test
async def test_an_optional_email_unique_whatever_its_case(make_browser, make_user, db):
    alice, _ = await logged_in(make_browser, make_user, "alice")
    bob, _ = await logged_in(make_browser, make_user, "bob")
    assert (await alice.post("/settings", {**PROFILE, "email": " Alice@Example.org "})).code == 303
    assert await db.fetchval("SELECT email FROM users WHERE username = 'alice'") == "Alice@Example.org"
    assert 'value="Alice@Example.org"' in (await alice.get("/settings")).text

    resp = await bob.post("/settings", {**PROFILE, "display_name": "Bob B", "email": "alice@EXAMPLE.org"})
    assert resp.code == 400 and "already used by another account" in resp.text and "alice" not in resp.text.lower().split(
        "already used")[1][:200]
    assert await db.fetchval("SELECT email IS NULL AND display_name = '' FROM users WHERE username = 'bob'")

    assert (await alice.post("/settings", {**PROFILE, "email": ""})).code == 303
    assert await db.fetchval("SELECT email FROM users WHERE username = 'alice'") is None
    assert (await bob.post("/settings", {**PROFILE, "email": "alice@example.org"})).code == 303


@pytest.mark.parametrize("bad", ["alice", "alice@", "@example.org", "a b@example.org", "alice@exa mple.org",
                                 "alice@example.org\r\nBcc: x@example.org", "<alice@example.org>",
                                 "a@b@example.org", "x" * 250 + "@example.org"])
@pytest.mark.gen_test
async def test_a_malformed_email_is_refused(make_browser, make_user, db, bad):
    alice, _ = await logged_in(make_browser, make_user, "alice")
    resp = await alice.post("/settings", {**PROFILE, "email": bad})
    assert resp.code == 400 and "email" in resp.text
    assert await db.fetchval("SELECT email FROM users WHERE username = 'alice'") is None
