"""What a person does in a real browser (SPEC §2): sign up, log in, settings, events,
friends, and registering an app then authorizing it on the consent page."""
from __future__ import annotations

import base64
import json
import re
import urllib.parse
import urllib.request

from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"



def sign_up(page: Page, username: str, display_name: str = "") -> None:
    page.goto("/signup")
    page.fill('input[name="username"]', username)
    page.fill('input[name="display_name"]', display_name or username.title())
    page.fill('input[name="password"]', PASSWORD)
    page.locator('form[action="/signup"] button[type="submit"]').click()
    expect(account_menu(page)).to_be_visible()


def account_menu(page: Page):
    """The header's account menu (a <details>): its summary, which opens it."""
    return page.locator("header details.account > summary")


def log_out(page: Page) -> None:
    account_menu(page).click()
    page.get_by_role("button", name="Log out").click()


def friends_list(page: Page):
    return page.locator("section", has=page.get_by_role("heading", name="Your friends"))


def test_sign_up_log_out_and_log_in(new_page, shot, names):
    page, name = new_page(), names("ann")
    page.goto("/signup")
    shot(page, "signup")
    sign_up(page, name, "Ann Example")
    expect(page.locator("header")).to_contain_text("Ann Example")
    shot(page, "home-logged-in")

    log_out(page)
    expect(page.locator("header").get_by_role("link", name="Log in")).to_be_visible()
    page.goto("/settings")  # a page that needs a session sends us to log in, then back
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fsettings"))
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', "not the password")
    page.locator('form[action="/login"] button[type="submit"]').click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    shot(page, "login-failed")
    page.fill('input[name="password"]', PASSWORD)
    page.locator('form[action="/login"] button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/settings$"))
    shot(page, "logged-in-settings")


def test_update_interests_in_settings(new_page, shot, names):
    page, name = new_page(), names("bea")
    sign_up(page, name)
    page.goto("/settings")
    page.fill('input[name="bio"], textarea[name="bio"]', "I like walking in the hills.")
    page.fill('input[name="interests"]', "Hiking,  jazz , go, hiking")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".notice")).to_contain_text("Saved")
    saved = page.locator('input[name="interests"]').input_value()
    assert sorted(saved.split(", ")) == ["go", "hiking", "jazz"]  # trimmed, lowercased, once each
    shot(page, "settings-saved")


def test_public_profile_shows_interests(new_page, shot, names):
    page, name = new_page(), names("cat")
    sign_up(page, name, "Cat Profile")
    page.goto("/settings")
    page.fill('input[name="interests"]', "pottery, chess")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".notice")).to_contain_text("Saved")
    page.goto(f"/u/{name}")
    expect(page.locator("main")).to_contain_text("Cat Profile")
    expect(page.locator("main")).to_contain_text("pottery")
    shot(page, "profile")


def test_create_an_event_and_see_it_listed(new_page, shot, names):
    page, name = new_page(), names("dan")
    sign_up(page, name)
    title = f"Picnic by the river {name}"
    page.goto("/events/new")
    page.fill('[name="title"]', title)
    page.fill('[name="start_datetime"]', "2031-06-21T12:00")
    page.fill('[name="place_name"]', "Riverside park")
    page.fill('[name="description"]', "Bring something to share.")
    page.fill('[name="tags"]', "outdoors, food")
    shot(page, "event-form")
    page.check('[name="published"]')
    page.locator('form[action="/events/new"]').get_by_role("button", name="Save").click()
    expect(page.locator("main")).to_contain_text(title)
    shot(page, "event-created")
    page.goto("/events")
    expect(page.locator("main")).to_contain_text(title)
    shot(page, "events-list")
    page.goto(f"/u/{name}")  # a published event shows on its owner's profile too
    expect(page.locator("main")).to_contain_text(title)


def test_add_a_friend_who_accepts(new_page, shot, names):
    asker, answerer = new_page(), new_page()
    asker_name, answerer_name = names("eve"), names("fay")
    sign_up(asker, asker_name)
    sign_up(answerer, answerer_name)

    asker.goto("/friends")
    asker.fill('[name="name"]', answerer_name)
    asker.get_by_role("button", name="Send friend request").click()
    expect(asker.get_by_role("button", name="Cancel request")).to_have_count(1)
    shot(asker, "friends-request-sent")

    answerer.goto("/friends")
    expect(answerer.locator("main")).to_contain_text(asker_name)
    shot(answerer, "friends-incoming")
    answerer.get_by_role("button", name="Accept").click()
    expect(answerer.get_by_role("button", name="Accept")).to_have_count(0)
    expect(friends_list(answerer)).to_contain_text(asker_name)
    shot(answerer, "friends-accepted")

    asker.goto("/friends")
    expect(friends_list(asker)).to_contain_text(answerer_name)
    expect(asker.get_by_role("button", name="Cancel request")).to_have_count(0)
    shot(asker, "friends-of-asker")


def test_register_an_app_and_authorize_it(new_page, shot, names, callback, server):
    page, name = new_page(), names("gus")
    sign_up(page, name)
    page.goto("/dev")
    shot(page, "dev")
    page.get_by_role("link", name="New app").click()
    page.fill('[name="name"]', "Demo app")
    page.fill('[name="website"]', "https://demo.example")
    page.fill('[name="redirect_uris"]', callback.url)
    page.check('input[name="scope"][value="profile"]')
    page.check('input[name="scope"][value="friends:read"]')
    shot(page, "dev-new-app")
    page.get_by_role("button", name="Create app").click()
    expect(page.locator("main")).to_contain_text("Demo app")
    client_id = page.locator("#client-id").input_value()
    client_secret = page.locator("#client-secret").input_value()
    shot(page, "dev-app-created")

    page.locator('select[name="redirect_uri"]').select_option(callback.url)
    page.fill('#builder [name="state"]', "journey-state")
    with page.context.expect_page() as built:  # a new tab: the secret stays on this one
        page.get_by_role("button", name="Build URL").click()
    page = built.value
    url = page.locator("#auth-url").input_value()
    assert url.startswith(server.base + "/oauth/authorize?") and client_id in url
    shot(page, "dev-url-builder")

    page.goto(url)
    expect(page.locator("h1")).to_contain_text("Demo app")
    expect(page.locator('input[name="scope"]:checked')).to_have_count(2)
    shot(page, "consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(callback.url + "?*")
    shot(page, "redirected-to-app")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
    assert params["state"] == "journey-state" and params["code"] and params["iss"] == server.base
    assert any(hit.startswith("/cb?") and "code=" in hit for hit in callback.hits)

    token = exchange(server, client_id, client_secret, params["code"], callback.url)
    assert set(token["scope"].split()) == {"profile", "friends:read"}
    assert api_me(server, token["access_token"])["username"] == name
    page.goto("/settings/apps")
    expect(page.locator("main")).to_contain_text("Demo app")
    shot(page, "connected-apps")


def exchange(server, client_id: str, client_secret: str, code: str, redirect_uri: str) -> dict:
    """What the app's back end does with the code: POST /oauth/token with HTTP Basic."""
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": redirect_uri}).encode()
    basic = base64.b64encode(f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(client_secret)}".encode())
    req = urllib.request.Request(server.url("/oauth/token"), data=body, headers={
        "Authorization": "Basic " + basic.decode(), "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def api_me(server, access_token: str) -> dict:
    req = urllib.request.Request(server.url("/api/me"), headers={"Authorization": f"Bearer {access_token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)
