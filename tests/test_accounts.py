"""Accounts over HTTP (SPEC §2, SECURITY-CHECKLIST 45–51): signup, login, logout,
sessions, settings, throttling and password hashing."""
from __future__ import annotations

import asyncio
import re
import time

import argon2
import pytest

from gancio_like.services.accounts import Passwords
from gancio_like.storage.users import get_user_by_name
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new secret"


async def signup(browser, username: str, password: str = PASSWORD, display_name: str = "", **kw):
    return await browser.post("/signup", {"username": username, "password": password,
                                          "display_name": display_name}, **kw)


async def login(browser, username: str, password: str = PASSWORD, **extra):
    return await browser.post("/login", {"username": username, "password": password, **extra})


async def user_count(app) -> int:
    return await app.db.fetchval("SELECT count(*) FROM users")


async def stored_hash(app, username: str) -> str:
    return await app.db.fetchval("SELECT password_hash FROM users WHERE username = ?", (username,))


async def is_logged_in(browser) -> bool:
    resp = await browser.get("/settings")
    assert resp.code in (200, 302), resp.code
    return resp.code == 200


def session_cookie_header(resp) -> str:
    found = [h for h in resp.headers.get_list("Set-Cookie") if h.startswith("fync_session=")]
    assert len(found) == 1, resp.headers.get_list("Set-Cookie")
    return found[0]


def without_tokens(text: str, *words: str) -> str:
    """A page with its per-request `_xsrf` values and the given words blanked out."""
    text = re.sub(r'name="_xsrf" value="[^"]*"', "", text)
    for word in words:
        text = text.replace(word, "")
    return text


# -- signup -----------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_signup_logs_in_with_a_safe_session_cookie(browser):
    resp = await signup(browser, "alice", display_name="Alice")
    assert resp.code == 303 and resp.location == "/"
    cookie = session_cookie_header(resp).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # public_url is http in tests
    assert "Welcome, Alice" in (await browser.get("/")).text


@pytest.mark.gen_test
async def test_first_account_is_admin_and_the_second_is_not(app, browser, make_browser):
    await signup(browser, "first")
    await signup(make_browser(), "second")
    assert (await get_user_by_name(app.db, "first")).is_admin
    assert not (await get_user_by_name(app.db, "second")).is_admin


@pytest.mark.parametrize("username,password,error", [
    ("Alice", PASSWORD, "username"),
    ("al ice", PASSWORD, "username"),
    ("", PASSWORD, "username"),
    ("a" * 31, PASSWORD, "username"),
    ("alice", "short", "password"),
])
@pytest.mark.gen_test
async def test_signup_validation_errors(app, browser, username, password, error):
    resp = await signup(browser, username, password)
    assert resp.code == 400
    assert 'action="/signup"' in resp.text and error in resp.text
    assert await user_count(app) == 0
    assert "fync_session" not in browser.cookies


@pytest.mark.gen_test
async def test_signup_with_a_taken_name(app, browser, make_user):
    await make_user("alice")
    resp = await signup(browser, "alice", "another password")
    assert resp.code == 400 and "taken" in resp.text and 'action="/signup"' in resp.text
    assert await user_count(app) == 1


@pytest.mark.gen_test
async def test_signup_form_keeps_what_was_typed_escaped(browser):
    resp = await signup(browser, "Bad Name", display_name='<script>x</script>')
    assert resp.code == 400
    assert "<script>x</script>" not in resp.text and "&lt;script&gt;" in resp.text


@pytest.mark.parametrize("config_overrides", [{("instance", "open_signup"): False}])
@pytest.mark.gen_test
async def test_closed_signup_is_forbidden(app, browser, config_overrides):
    assert (await browser.get("/signup")).code == 403
    assert (await signup(browser, "alice")).code == 403
    assert await user_count(app) == 0


# -- login --------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_login_with_wrong_password_shows_the_form_again(browser, make_user):
    await make_user("alice")
    resp = await login(browser, "alice", "wrong password")
    assert resp.code == 401 and 'action="/login"' in resp.text
    assert "fync_session" not in browser.cookies


@pytest.mark.gen_test
async def test_unknown_user_and_wrong_password_look_the_same(browser, make_browser, make_user):
    await make_user("alice")
    wrong = await login(browser, "alice", "wrong password")
    unknown = await login(make_browser(), "nobody", "wrong password")
    assert wrong.code == unknown.code == 401
    assert without_tokens(wrong.text, "alice") == without_tokens(unknown.text, "nobody")


@pytest.mark.parametrize("path,body", [
    ("/login", {"username": "alice", "password": PASSWORD}),
    ("/signup", {"username": "bob", "password": PASSWORD}),
])
@pytest.mark.gen_test
async def test_post_without_xsrf_is_forbidden(app, browser, make_user, path, body):
    await make_user("alice")
    await browser.get("/login")  # the _xsrf cookie is there, the form field is not
    resp = await browser.post(path, body, xsrf=False)
    assert resp.code == 403
    assert "fync_session" not in browser.cookies and await user_count(app) == 1


@pytest.mark.gen_test
async def test_logout_and_settings_without_xsrf_are_forbidden(app, browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    assert (await browser.post("/settings", {"display_name": "Mallory"}, xsrf=False)).code == 403
    assert (await browser.post("/logout", {}, xsrf=False)).code == 403
    assert await is_logged_in(browser)
    assert (await get_user_by_name(app.db, "alice")).display_name == ""


@pytest.mark.parametrize("target,expected", [
    ("", "/"),
    ("/settings", "/settings"),
    ("/settings?saved=profile", "/settings?saved=profile"),
    ("//evil.tld", "/"),
    ("/\\evil.tld", "/"),
    ("https://evil.tld", "/"),
    ("javascript:alert(1)", "/"),
    ("/\t/evil.tld", "/"),
    ("http:/evil.tld", "/"),
])
@pytest.mark.gen_test
async def test_next_is_a_local_path_only(browser, make_user, target, expected):
    await make_user("alice")
    resp = await login(browser, "alice", next=target)
    assert resp.code in (302, 303) and resp.location == expected


@pytest.mark.gen_test
async def test_login_page_carries_next_in_the_form(browser):
    assert (await browser.get("/login?next=/settings")).form_value("next") == "/settings"
    assert (await browser.get("/login?next=//evil.tld")).form_value("next") == "/"


@pytest.mark.gen_test
async def test_settings_needs_login_and_comes_back(browser, make_user):
    resp = await browser.get("/settings")
    assert resp.code == 302 and resp.location.startswith("/login?next=")
    await make_user("alice")
    nxt = (await browser.get(resp.location)).form_value("next")
    assert (await login(browser, "alice", next=nxt)).location == "/settings"


@pytest.mark.gen_test
async def test_planted_session_cookie_is_not_adopted(app, make_browser, make_user):
    await make_user("alice")
    await make_user("mallory")
    attacker, victim = make_browser(), make_browser()
    await attacker.login("mallory")
    planted = attacker.cookies["fync_session"]
    victim.cookies["fync_session"] = planted
    await victim.login("alice")
    assert victim.cookies["fync_session"] != planted
    assert "Welcome, alice" in (await victim.get("/")).text
    assert not await is_logged_in(attacker)  # the planted session was ended, not reused


@pytest.mark.gen_test
async def test_made_up_session_cookie_is_replaced_at_login(browser, make_user):
    await make_user("alice")
    browser.cookies["fync_session"] = "chosen-by-attacker"
    await browser.login("alice")
    assert browser.cookies["fync_session"] != "chosen-by-attacker"


# -- logout ---------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_logout_ends_the_session_server_side(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    old = browser.cookies["fync_session"]
    resp = await browser.post("/logout")
    assert resp.code in (302, 303)
    assert "fync_session" not in browser.cookies
    browser.cookies["fync_session"] = old  # a copy of the cookie kept by someone
    resp = await browser.get("/settings")
    assert resp.code == 302 and resp.location.startswith("/login")


# -- throttling --------------------------------------------------------------------------------------

THROTTLED = {("security", "login_failures_per_minute"): 2}


async def fail_login(browser, username: str):
    resp = await login(browser, username, "wrong password")
    return resp.code


@pytest.mark.parametrize("config_overrides", [THROTTLED])
@pytest.mark.gen_test
async def test_throttled_after_n_failures_even_with_the_right_password(browser, make_user, config_overrides):
    await make_user("alice")
    assert [await fail_login(browser, "alice") for _ in range(2)] == [401, 401]
    resp = await login(browser, "alice")
    assert resp.code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert "fync_session" not in browser.cookies


@pytest.mark.parametrize("config_overrides", [THROTTLED])
@pytest.mark.gen_test
async def test_throttled_per_username(app, browser, make_user, config_overrides):
    await make_user("alice")
    await make_user("bob")
    await fail_login(browser, "alice")
    await fail_login(browser, "alice")
    await app.login_throttle.reset(("login-ip", "127.0.0.1"))  # as if from elsewhere
    assert (await login(browser, "alice")).code == 429
    assert (await login(browser, "bob")).code in (302, 303)


@pytest.mark.parametrize("config_overrides", [THROTTLED])
@pytest.mark.gen_test
async def test_throttled_per_ip(browser, make_user, config_overrides):
    await make_user("carol")
    assert await fail_login(browser, "alice") == 401
    assert await fail_login(browser, "bob") == 401
    resp = await login(browser, "carol")  # a third name, the same address
    assert resp.code == 429 and "Retry-After" in resp.headers


@pytest.mark.parametrize("config_overrides", [THROTTLED])
@pytest.mark.gen_test
async def test_concurrent_guesses_do_not_bypass_the_limit(browser, make_user, config_overrides):
    await make_user("alice")
    await browser.xsrf()
    codes = await asyncio.gather(*(fail_login(browser, "alice") for _ in range(8)))
    assert sorted(codes) == [401, 401] + [429] * 6


@pytest.mark.parametrize("config_overrides", [THROTTLED])
@pytest.mark.gen_test
async def test_successful_logins_do_not_count_as_failures(browser, make_user, config_overrides):
    await make_user("alice")
    for _ in range(3):
        assert (await login(browser, "alice")).code in (302, 303)
    assert await fail_login(browser, "alice") == 401


# -- settings ---------------------------------------------------------------------------------------


async def logged_in(make_browser, username: str):
    b = make_browser()
    await b.login(username)
    return b


@pytest.mark.gen_test
async def test_profile_update(app, make_browser, make_user):
    await make_user("alice")
    b = await logged_in(make_browser, "alice")
    resp = await b.post("/settings", {"display_name": "Alice A.", "bio": "Hi there",
                                      "interests": "Hiking, jazz ,hiking"})
    assert resp.code in (302, 303)
    user = await get_user_by_name(app.db, "alice")
    assert (user.display_name, user.bio, user.interests) == ("Alice A.", "Hi there", ("hiking", "jazz"))
    page = (await b.get("/settings")).text
    assert 'value="Alice A."' in page and "hiking, jazz" in page


@pytest.mark.gen_test
async def test_too_many_interests_is_a_400(app, make_browser, make_user):
    await make_user("alice")
    b = await logged_in(make_browser, "alice")
    resp = await b.post("/settings", {"interests": ",".join(f"t{i}" for i in range(31))})
    assert resp.code == 400 and "interests" in resp.text
    assert (await get_user_by_name(app.db, "alice")).interests == ()


@pytest.mark.gen_test
async def test_saved_notice_only_for_known_forms(make_browser, make_user):
    await make_user("alice")
    b = await logged_in(make_browser, "alice")
    assert "Saved your profile" in (await b.get("/settings?saved=profile")).text
    assert "call 555" not in (await b.get("/settings?saved=call+555")).text


@pytest.mark.gen_test
async def test_password_change_ends_other_sessions_only(make_browser, make_user):
    await make_user("alice")
    here, elsewhere = await logged_in(make_browser, "alice"), await logged_in(make_browser, "alice")
    resp = await here.post("/settings", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert resp.code in (302, 303)
    assert await is_logged_in(here)
    assert not await is_logged_in(elsewhere)
    assert (await login(make_browser(), "alice", NEW_PASSWORD)).code in (302, 303)
    assert (await login(make_browser(), "alice", PASSWORD)).code == 401


@pytest.mark.gen_test
async def test_password_change_with_wrong_current_password(app, make_browser, make_user):
    await make_user("alice")
    b = await logged_in(make_browser, "alice")
    before = await stored_hash(app, "alice")
    resp = await b.post("/settings", {"current_password": "not it at all", "new_password": NEW_PASSWORD})
    assert resp.code == 400 and "current password" in resp.text
    assert await stored_hash(app, "alice") == before
    assert await is_logged_in(b)


@pytest.mark.gen_test
async def test_password_change_to_a_short_password(app, make_browser, make_user):
    await make_user("alice")
    b = await logged_in(make_browser, "alice")
    before = await stored_hash(app, "alice")
    resp = await b.post("/settings", {"current_password": PASSWORD, "new_password": "short"})
    assert resp.code == 400 and await stored_hash(app, "alice") == before


@pytest.mark.parametrize("config_overrides", [THROTTLED])
@pytest.mark.gen_test
async def test_guessing_the_current_password_is_throttled(make_browser, make_user, config_overrides):
    await make_user("alice")
    b = await logged_in(make_browser, "alice")
    body = {"current_password": "guess", "new_password": NEW_PASSWORD}
    assert [(await b.post("/settings", body)).code for _ in range(3)] == [400, 400, 429]


# -- pages and hashes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/no/such/page"])
@pytest.mark.gen_test
async def test_pages_cannot_be_framed(browser, path):
    resp = await browser.get(path)
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


@pytest.mark.gen_test
async def test_settings_and_error_pages_cannot_be_framed(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    for resp in (await browser.get("/settings"), await browser.post("/logout", {}, xsrf=False)):
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


@pytest.mark.gen_test
async def test_stored_hash_is_argon2id(app, browser):
    await signup(browser, "alice")
    assert (await stored_hash(app, "alice")).startswith("$argon2id$")


def test_production_hash_parameters_meet_owasp():
    hasher = Passwords().hasher
    assert hasher.type is argon2.Type.ID
    assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2


@pytest.mark.gen_test
async def test_outdated_hash_is_rehashed_at_login(app, browser, make_user):
    await make_user("alice")
    old = await stored_hash(app, "alice")
    app.passwords.hasher = argon2.PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    await browser.login("alice")
    new = await stored_hash(app, "alice")
    assert new != old and "m=2048,t=2,p=1" in new
    assert (await login(browser, "alice")).code in (302, 303)


@pytest.mark.parametrize("path", ["/login", "/signup"])
@pytest.mark.gen_test
async def test_megabyte_password_is_refused_fast(app, browser, make_user, path):
    await make_user("alice")
    started = time.monotonic()
    resp = await browser.post(path, {"username": "alice2" if path == "/signup" else "alice",
                                     "password": "x" * 1_000_000})
    assert resp.code in (400, 401, 413)
    assert time.monotonic() - started < 2
    assert await user_count(app) == 1
