"""The languages Fync speaks (issue 19 item 7): gettext catalogs in `locale/<code>/LC_MESSAGES/fync.mo`,
made from the `.po` next to them (tools/i18n.py extracts, updates and compiles them).

Pages translate through Tornado's locale support (handlers/base.py loads the same catalogs);
what is written outside a request (a push, a mail) uses `translator` here, with the
standard library's gettext, so services need neither Tornado nor Babel. English is the
source language: its catalog is empty, every message is its own msgid. No internal imports.
"""
from __future__ import annotations

import functools
import gettext
from pathlib import Path

DOMAIN = "fync"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
# code → the language's name in itself, as the settings' select shows it.
LANGUAGES = {"en": "English", "it": "Italiano"}


def is_language(code: str) -> bool:
    return code in LANGUAGES


@functools.cache
def translator(code: str) -> gettext.NullTranslations:
    """The catalog for a language code; anything unknown ('' too) reads as English."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[code if is_language(code) else DEFAULT],
                               fallback=True)


def N_(message: str) -> str:
    """Marks a message for the catalogs where it is defined, to be translated where it is shown."""
    return message
