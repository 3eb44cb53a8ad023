"""Page details a new user ran into (issue 16 item 8), in Debian's Chromium at 390 px:
`/admin` fits the screen, and building an authorization URL keeps a just-shown secret.

Its own `fync serve`, so that the first sign-up here is the instance's admin."""
from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from conftest import PHONE, Server
from test_journeys import sign_up


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("details"))
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def phone(chromium, instance):
    """`phone()` → a page at 390 px in a fresh context (its own cookies)."""
    contexts = []

    def make() -> Page:
        context = chromium.new_context(viewport=PHONE, base_url=instance.base)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def create_app(page: Page, name: str, redirect_uri: str = "https://app.example/oauth/callback") -> None:
    page.goto("/dev/new")
    page.fill('[name="name"]', name)
    page.fill('[name="redirect_uris"]', redirect_uri)
    page.check('input[name="scope"][value="profile"]')
    page.get_by_role("button", name="Create app").click()
    expect(page.locator("#client-secret")).to_be_visible()


def register_openly(instance: Server, name: str) -> None:
    """An app registered through the API (RFC 7591): no owner, a long name."""
    body = json.dumps({"client_name": name, "redirect_uris": ["http://127.0.0.1:9/cb"]}).encode()
    request = urllib.request.Request(instance.url("/oauth/register"), body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 201


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the screen (0: nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def accessible_roles(page: Page) -> list[str]:
    """The roles in Chromium's own accessibility tree: what a screen reader is given."""
    nodes = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    return [node["role"]["value"] for node in nodes if not node.get("ignored") and "role" in node]


def test_admin_fits_a_phone_screen(phone, instance, shot):
    admin = phone()
    sign_up(admin, "root", "The Administrator Of This Instance")
    create_app(admin, "A community calendar with a rather long name")
    create_app(admin, "Supercalifragilisticexpialidocious-Calendar-Synchroniser")
    register_openly(instance, "Openly registered client with a long descriptive name")
    for name, shown in (("dora", "Someone With A Long Display Name"),
                        ("emil_has_a_long_username_indeed", "Wolfeschlegelsteinhausenbergerdorff")):
        sign_up(phone(), name, shown)

    admin.goto("/admin")
    buttons = admin.locator("main button")
    expect(buttons).to_have_count(6)
    shot(admin, "admin-390")
    assert admin.evaluate("window.innerWidth") == PHONE["width"]
    assert overflow(admin) <= 0, f"/admin is {overflow(admin)} px wider than a {PHONE['width']} px screen"
    for button in buttons.all():  # every action is on the screen, none is off to the side
        box = button.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], (button.inner_text(), box)
    label = admin.locator('td[data-label="Owner"]').first.evaluate("td => getComputedStyle(td, '::before').content")
    assert "Owner" in label, label  # each stacked value says what it is
    # Stacked or not, the tables stay tables to a screen reader.
    roles = accessible_roles(admin)
    assert roles.count("table") == 2 and roles.count("columnheader") == 9, roles
    assert roles.count("row") == 2 + 3 + 3 and roles.count("cell") == 3 * 5 + 3 * 4, roles

    admin.get_by_role("button", name="Disable").first.click()
    expect(admin.locator("h1")).to_contain_text("Disable ")  # asks first (SPEC §2)
    assert overflow(admin) <= 0
    admin.get_by_role("button", name=re.compile("^Disable .")).click()
    expect(admin.locator(".notice")).to_contain_text("Disabled")
    assert overflow(admin) <= 0


def test_building_a_url_keeps_the_secret_just_shown(phone, shot):
    page = phone()
    sign_up(page, "fay")
    create_app(page, "Fay's app")
    secret = page.locator("#client-secret").input_value()
    assert len(secret) >= 43
    page.fill('#builder [name="state"]', "st4te")
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Build URL").click()
    built = opened.value
    built.wait_for_load_state()
    assert "/oauth/authorize?" in built.locator("#auth-url").input_value()
    assert "state=st4te" in built.locator("#auth-url").input_value()
    # The page that showed the secret is still there, secret and all.
    expect(page.locator("#client-secret")).to_have_value(secret)
    expect(page.locator("#builder")).to_contain_text("new tab")
    shot(page, "secret-kept")
    # Once the secret is gone, the builder stays on its page.
    built.get_by_role("button", name="Build URL").click()
    expect(built.locator("#auth-url")).to_be_visible()
    assert len(page.context.pages) == 2 and built.locator("#client-secret").count() == 0
