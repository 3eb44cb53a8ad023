"""People pages in Chromium at 360 px (issue 19): faces on home, profile, settings and
friends; a picture uploaded from /settings; answering a request from home; "Add from
your instance" round trip. Each page: every picture loads, nothing scrolls sideways,
and axe-core finds no serious or critical violation. Screenshots at 390 and 1280 px."""
from __future__ import annotations

import io
import urllib.parse

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from conftest import axe_violations, no_sideways_scroll
from test_journeys import PASSWORD, log_out, sign_up

SMALL_PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(chromium, server):
    contexts = []

    def make(viewport=SMALL_PHONE) -> Page:
        context = chromium.new_context(viewport=viewport, base_url=server.base)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def photo(tmp_path, colour=(30, 120, 200)) -> str:
    path = tmp_path / "me.jpg"
    image = Image.new("RGB", (900, 600), colour)
    image.paste((250, 200, 40), (300, 150, 600, 450))
    out = io.BytesIO()
    image.save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return str(path)


def pictures_loaded(page: Page) -> bool:
    page.wait_for_load_state("load")
    return page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")


def check(page: Page, where: str) -> None:
    assert pictures_loaded(page), f"{where}: a picture did not load"
    assert no_sideways_scroll(page), f"{where} scrolls sideways"
    assert axe_violations(page) == [], where


def test_a_picture_from_settings_shows_everywhere(phone, names, tmp_path, shot):
    page, name = phone(), names("pia")
    sign_up(page, name, "Pia Picture")
    page.goto("/settings")
    check(page, "/settings before")
    page.set_input_files('input[name="avatar"]', photo(tmp_path))
    page.get_by_role("button", name="Upload picture").click()
    expect(page.get_by_role("status")).to_contain_text("Saved your picture")
    header = page.locator("header img.avatar")
    assert "?v=0" not in header.get_attribute("src")
    check(page, "/settings after")
    shot(page, "settings-360")
    page.goto(f"/@{name}")
    check(page, "profile (own)")
    big = page.locator("main img.avatar.large")
    assert big.evaluate("i => i.naturalWidth") == 400


def test_home_answers_a_request_with_faces(phone, names, shot):
    asker, answerer = phone(), phone()
    a, b = names("ask"), names("ans")
    sign_up(asker, a, "Asker Person")
    sign_up(answerer, b, "Answer Person")
    answerer.goto("/")
    expect(answerer.get_by_role("heading", name="Getting started")).to_be_visible()
    check(answerer, "home, new account")
    asker.goto("/friends")
    asker.fill('input[name="name"]', b)
    asker.get_by_role("button", name="Send friend request").click()
    answerer.goto("/")
    requests = answerer.locator("section", has=answerer.get_by_role("heading", name="Asking to be your friend"))
    expect(requests).to_contain_text(a)
    check(answerer, "home with a request")
    shot(answerer, "home-request-360")
    requests.get_by_role("button", name="Accept").click()
    expect(answerer.get_by_role("status")).to_contain_text("you are now friends")
    assert urllib.parse.urlsplit(answerer.url).path == "/"
    answerer.goto("/friends")
    expect(answerer.locator("section", has=answerer.get_by_role("heading", name="Your friends"))).to_contain_text(a)
    check(answerer, "/friends")


def test_add_from_your_instance_comes_back_through_login(phone, names, server):
    host, visitor = phone(), phone()
    name, guest = names("hosta"), names("guest")
    sign_up(host, name, "Host Alpha")
    sign_up(visitor, guest)
    log_out(visitor)
    visitor.goto(f"/@{name}")
    check(visitor, "profile, visitor")
    domain = urllib.parse.urlsplit(server.base).netloc  # the visitor's "own" instance: this one
    visitor.fill('input[name="domain"]', domain)
    visitor.get_by_role("button", name="Go to my instance").click()
    expect(visitor.get_by_role("heading", name="Log in")).to_be_visible()  # their /friends needs a login
    visitor.fill('input[name="username"]', guest)
    visitor.fill('input[name="password"]', PASSWORD)
    visitor.locator('form[action="/login"] button[type="submit"]').click()
    expect(visitor.locator('input[name="name"]')).to_have_value(f"{name}@{domain}")
    check(visitor, "/friends?add=")


@pytest.mark.parametrize("width", [390, 1280])
def test_screenshots_of_home_friends_and_an_event(phone, names, shot, width):
    """For the report: the pages people use most, on a phone and on a desktop."""
    me, friend = phone({"width": width, "height": 900}), phone({"width": width, "height": 900})
    a, b = names("shota"), names("shotb")
    sign_up(me, a, "Sam Shutter")
    sign_up(friend, b, "Fran Friend")
    for page in (me, friend):
        page.goto("/settings")
        page.fill('input[name="interests"]', "photography, hiking")
        page.get_by_role("button", name="Save profile").click()
    friend.goto("/friends")
    friend.fill('input[name="name"]', a)
    friend.get_by_role("button", name="Send friend request").click()
    friend.goto("/events/new")
    friend.fill('input[name="title"]', "Sunrise walk on the ridge")
    friend.fill('input[name="start_datetime"]', "2031-06-01T05:30")
    friend.fill('input[name="place_name"]', "Monte Cucco trailhead")
    friend.get_by_role("button", name="Save").click()
    event_url = friend.url
    me.goto("/")
    check(me, f"home at {width}")
    shot(me, f"home-{width}")
    me.goto("/friends")
    check(me, f"friends at {width}")
    shot(me, f"friends-{width}")
    me.goto(event_url)
    check(me, f"event at {width}")
    shot(me, f"event-{width}")
