"""The message catalogs are current and whole (issue 19 item 7): every string the code and
templates mark is in fync.pot and in each language's .po, Italian translates every one
with the same placeholders and markup, and each committed .mo says what its .po says
(so nobody forgets `make messages`). The wheel carries them (tests/test_packaging.py)."""
from __future__ import annotations

import gettext
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import i18n  # noqa: E402  (tools/i18n.py, the Babel steps behind `make messages`)

from gancio_like import languages  # noqa: E402

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
TAG = re.compile(r"</?[a-z][^>]*>")


def ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


@pytest.fixture(scope="module")
def extracted():
    return i18n.extracted()


def test_every_marked_string_is_in_the_template_catalog(extracted):
    committed = i18n.read(i18n.POT)
    assert ids(extracted) - ids(committed) == set(), "new strings: run `make messages` and translate them"
    assert ids(committed) - ids(extracted) == set(), "strings no longer used: run `make messages`"


def test_the_extraction_sees_templates_python_and_plurals(extracted):
    found = ids(extracted)
    assert {"Log in", "Automatic (from your browser)", "Friend request sent.", "Mon", "Dec",
            "language: choose one from the list", "Read your profile"} <= found
    assert ("unread", "unread") in found
    assert ("%(count)d mutual friend", "%(count)d mutual friends") in found


@pytest.mark.parametrize("code", sorted(languages.LANGUAGES))
def test_each_language_has_every_message(code):
    assert ids(i18n.read(i18n.po_path(code), code)) == ids(i18n.read(i18n.POT))


def test_italian_is_translated_in_full_with_the_same_placeholders_and_markup():
    catalog = i18n.read(i18n.po_path("it"), "it")
    assert catalog.num_plurals == 2
    for message in catalog:
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(targets) and not message.fuzzy, f"untranslated: {message.id!r}"
        for target in targets:
            assert set(PLACEHOLDER.findall(target)) == set(PLACEHOLDER.findall(sources[-1])), message.id
            assert sorted(TAG.findall(target)) == sorted(TAG.findall(sources[0])), message.id
            names = {name[2:-2] for name in PLACEHOLDER.findall(target)}
            if names:  # formatted where it is shown: a stray % would fail the page
                target % dict.fromkeys(names, 1)


@pytest.mark.parametrize("code", sorted(languages.LANGUAGES))
def test_each_committed_mo_says_what_its_po_says(code):
    path = i18n.po_path(code)
    expected = {}
    for message in i18n.read(path, code):
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):  # an untranslated plural form reads as the English one
            expected.update({(message.id[0], n): s or message.id[min(n, 1)] for n, s in enumerate(message.string)})
        elif message.string:
            expected[message.id] = message.string
    with path.with_suffix(".mo").open("rb") as mo:
        compiled = dict(gettext.GNUTranslations(mo)._catalog)
    header = compiled.pop("", "")
    assert compiled == expected, "a .mo is older than its .po: run `make messages`"
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header


def test_italian_reads_through_the_installed_catalog():
    italian = languages.translator("it")
    assert italian.gettext("Log in") == "Accedi"
    assert italian.ngettext("unread", "unread", 1) == "non letta"
    assert italian.ngettext("unread", "unread", 4) == "non lette"
