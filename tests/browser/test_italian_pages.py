"""Italian pages in Chromium at 360 px (issue 19 item 7): a browser that asks for Italian
gets every main page in Italian, and Italian's longer words still fit a small phone (no
sideways scroll) with no serious or critical axe-core violation. An English browser
switches to Italian from /settings and back to Automatic."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import axe_violations, no_sideways_scroll
from test_journeys import sign_up

SMALL_PHONE = {"width": 360, "height": 740}
PAGES = {"/": "Per cominciare", "/friends": "Aggiungi un amico", "/events": "Prossimi eventi",
         "/events/new": "Nuovo evento", "/settings": "Impostazioni", "/notifications": "Notifiche",
         "/settings/apps": "App collegate", "/dev": "Le tue app"}


@pytest.fixture
def phone(chromium, server):
    contexts = []

    def make(locale: str) -> Page:
        context = chromium.new_context(viewport=SMALL_PHONE, base_url=server.base, locale=locale)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def check(page: Page, where: str) -> None:
    assert page.locator("html").get_attribute("lang") == "it", where
    assert no_sideways_scroll(page), f"{where} scrolls sideways"
    assert axe_violations(page) == [], where


def test_an_italian_browser_gets_italian_pages_that_fit_a_phone(phone, names, shot):
    page, name = phone("it-IT"), names("ita")
    page.goto("/login")
    expect(page.get_by_role("heading", name="Accedi")).to_be_visible()
    check(page, "/login")
    page.goto("/signup")
    check(page, "/signup")
    sign_up(page, name, "Giulia Lunghissimonome")
    for path, heading in PAGES.items():
        page.goto(path)
        expect(page.locator("main")).to_contain_text(heading)
        check(page, path)
    page.goto(f"/@{name}")
    check(page, "profile")
    page.locator("header details.account > summary").click()  # the open account menu fits too
    expect(page.get_by_role("button", name="Esci")).to_be_visible()
    check(page, "account menu open")
    shot(page, "profile-it-360")


def test_the_choice_in_settings_beats_the_browser(phone, names):
    page, name = phone("en-US"), names("eng")
    sign_up(page, name)
    page.goto("/settings")
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    page.get_by_label("Language").select_option("it")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text("Profilo salvato.")
    check(page, "/settings, chosen Italian")
    page.get_by_label("Lingua").select_option("")
    page.get_by_role("button", name="Salva il profilo").click()
    expect(page.get_by_role("status")).to_contain_text("Saved your profile.")
    assert page.locator("html").get_attribute("lang") == "en"
