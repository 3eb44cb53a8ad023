"""Destructive forms ask first (SPEC §2; gancio_like/handlers/confirm.py). These helpers
walk both steps as a person would: post the form, read the confirm page, press its button."""
from __future__ import annotations

import html.parser

from portal_helpers import post_form


class ConfirmPage(html.parser.HTMLParser):
    """The confirm page's form: action, hidden fields, the confirming button, Cancel's link."""

    def __init__(self, text: str):
        super().__init__()
        self.action, self.fields, self.button, self.cancel, self.question = None, [], None, None, ""
        self._in_form = self._in_h1 = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "confirm" in (a.get("class") or "").split():
            self._in_form, self.action = True, a["action"]
        elif self._in_form and tag == "input" and a.get("type") == "hidden" and a["name"] != "_xsrf":
            self.fields.append((a["name"], a["value"]))
        elif self._in_form and tag == "button":
            self.button = (a["name"], a["value"])
        elif self._in_form and tag == "a":
            self.cancel = a["href"]
        self._in_h1 = self._in_h1 or (self._in_form and tag == "h1")

    def handle_endtag(self, tag):
        self._in_form = self._in_form and tag != "form"
        self._in_h1 = self._in_h1 and tag != "h1"

    def handle_data(self, data):
        if self._in_h1:
            self.question += data


async def ask(browser, path: str, pairs=()) -> ConfirmPage:
    """Post a destructive form without the confirmation → its confirm page (checked to be one)."""
    r = await post_form(browser, path, pairs)
    assert r.code == 200, (path, r.code, r.text[:500])
    page = ConfirmPage(r.text)
    assert page.action and page.button == ("confirm", "yes") and page.cancel, r.text
    return page


async def confirm(browser, path: str, pairs=()):
    """Post a destructive form, then press "yes" on the page it answers → that POST's answer."""
    page = await ask(browser, path, pairs)
    return await post_form(browser, page.action, page.fields + [page.button])
