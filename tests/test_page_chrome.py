"""What every page shares (SPEC §2): the header marks the page's section with
aria-current, and destructive forms ask first (gancio_like/handlers/confirm.py)."""
from __future__ import annotations

import re

import pytest
import tornado.web

from confirm_helpers import ConfirmPage, ask
from gancio_like.handlers.base import PageHandler
from gancio_like.handlers.sections import section_of
from gancio_like.handlers.confirm import Ask, confirmed
from gancio_like.models import User
from portal_helpers import post_form


def person(name: str) -> User:
    return User(id=1, username=name, display_name="", bio="", is_admin=False, created_at=0)


@pytest.mark.parametrize("path, section", [
    ("/", "home"), ("/events", "events"), ("/events/12/edit", "events"), ("/events/new", "events"),
    ("/friends", "friends"), ("/friends/remove", "friends"), ("/settings", "settings"),
    ("/settings/apps/revoke", "settings"), ("/dev", "dev"), ("/dev/apps/x/delete", "dev"),
    ("/admin", "admin"), ("/login", "login"), ("/password/forgot", "login"), ("/signup", "signup"),
    ("/notifications", "notifications"), ("/u/ann", "profile"), ("/@ann", "profile"),
    ("/u/bob", "friends"), ("/@bob", "friends"), ("/oauth/authorize", ""), ("/nowhere", ""),
    ("/eventsx", ""),
])
def test_section_of(path, section):
    assert section_of(path, person("ann")) == section


def test_a_visitor_has_no_profile_section():
    assert section_of("/u/ann", None) == "friends"


def marked(text: str) -> list[str]:
    """The header's links marked as the current section."""
    header = text.split("<header", 1)[1].split("</header>", 1)[0]
    return re.findall(r'<a [^>]*href="([^"]+)"[^>]*aria-current="page"', header)


@pytest.mark.gen_test
async def test_the_header_marks_one_section(browser, make_user, make_browser):
    await make_user("ann", admin=True)
    await make_user("bob")
    visitor = make_browser()
    for path, link in (("/", "/"), ("/events", "/events"), ("/login", "/login"), ("/signup", "/signup"),
                       ("/u/ann", None)):
        assert marked((await visitor.get(path)).text) == ([link] if link else []), path
    await browser.login("ann")
    for path, link in (("/", "/"), ("/events", "/events"), ("/events/new", "/events"), ("/friends", "/friends"),
                       ("/settings", "/settings"), ("/settings/apps", "/settings"), ("/dev", "/dev"),
                       ("/dev/new", "/dev"), ("/admin", "/admin"), ("/u/ann", "/u/ann"), ("/u/bob", "/friends")):
        r = await browser.get(path)
        assert r.code == 200 and marked(r.text) == [link], (path, marked(r.text))
    r = await browser.get("/no/such/page")
    assert r.code == 404 and marked(r.text) == [] and "Log out" in r.text  # still logged in on a 404


@pytest.mark.gen_test
async def test_pages_have_a_skip_link_and_a_colour_scheme(browser):
    text = (await browser.get("/login")).text
    assert '<a class="skip" href="#main">' in text and '<main id="main"' in text
    assert '<meta name="color-scheme" content="light dark">' in text


class Acting(PageHandler):
    """A destructive form for the test: counts what it did."""
    done: list = []

    @tornado.web.authenticated
    async def post(self) -> None:
        if confirmed(self, Ask("Drop them?", "They are gone after.", "Drop", back="/somewhere")):
            Acting.done.append(self.get_body_arguments("item"))
            self.redirect("/somewhere", status=303)


@pytest.fixture
def acting(app):
    Acting.done = []
    app.add_handlers(r".*", [(r"/test/drop", Acting)])
    return Acting.done


@pytest.mark.gen_test
async def test_confirm_carries_the_form_and_acts_only_on_yes(browser, make_user, acting):
    await make_user("ann")
    await browser.login("ann")
    form = [("item", "a&b"), ("item", '"c"'), ("note", "<x>")]
    page = await ask(browser, "/test/drop", form)
    assert page.question == "Drop them?" and page.cancel == "/somewhere" and page.action == "/test/drop"
    assert page.fields == form and acting == []  # repeated fields in order, escaped and back intact
    for answer in ("", "no", "Yes", "yes please"):
        r = await post_form(browser, "/test/drop", form + [("confirm", answer)])
        assert r.code == 200 and ConfirmPage(r.text).question == "Drop them?" and acting == [], answer
    r = await post_form(browser, "/test/drop", form + [("confirm", "yes")], xsrf=False)
    assert r.code == 403 and acting == []  # the second step is a form POST like any other
    r = await post_form(browser, page.action, page.fields + [page.button])
    assert r.code == 303 and acting == [["a&b", '"c"']]
