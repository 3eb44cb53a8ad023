"""Fync's message catalogs, with Babel (a development tool: Fync itself reads the .mo files
through gettext). `make messages` runs all three steps:

    python tools/i18n.py extract   # gancio_like/**.py and templates/*.html → gancio_like/locale/fync.pot
    python tools/i18n.py update    # merge the .pot into each locale/<code>/LC_MESSAGES/fync.po
    python tools/i18n.py compile   # each .po → its .mo (committed, so a wheel carries them)

Then translate the new entries in each .po (empty or "fuzzy" ones) and compile again.
Tornado templates hold Python expressions in `{{ … }}` and `{% … %}`; Babel's own
Python extractor reads each of those, so `{{ _("Log in") }}` is found like `_("Log in")`.
"""
from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract, extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from gancio_like.languages import LANGUAGES

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "gancio_like"
LOCALE = PACKAGE / "locale"
POT = LOCALE / "fync.pot"
# Besides gettext's own names: Tornado's `_(singular, plural, count)`, PageHandler's
# `self._(message, name=value)`, and the errors whose words a page shows to people
# (PageHandler translates them; their API answers stay English). NotFound("event")
# says "no such event" (errors.py), so that is the message taken from it.
KEYWORDS = {**DEFAULT_KEYWORDS, "_": {1: (1,), 2: (1,), 3: (1, 2)},
            "ValidationError": (1,), "Forbidden": (1,), "Conflict": (1,), "NotFound": (1,)}
TEMPLATE_CODE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)


def extract_tornado(fileobj, keywords, comment_tags, options):
    """Babel extraction method for Tornado templates: the Python inside each tag."""
    text = fileobj.read().decode("utf-8")
    for match in TEMPLATE_CODE.finditer(text):
        code = match.group(1) if match.group(1) is not None else match.group(2)
        line = text.count("\n", 0, match.start())
        for lineno, funcname, messages, comments in extract_python(
                io.BytesIO(code.strip().encode()), keywords, comment_tags, options):
            yield line + lineno, funcname, messages, comments


def extract_fync_python(fileobj, keywords, comment_tags, options):
    """Babel's Python extractor, with NotFound's argument read as the message it makes."""
    for lineno, funcname, messages, comments in extract_python(fileobj, keywords, comment_tags, options):
        if funcname == "NotFound" and isinstance(messages, str):
            messages = f"no such {messages}"
        yield lineno, funcname, messages, comments


def sources() -> list[tuple[Path, object]]:
    """Every file messages come from, with its extraction method, in a stable order."""
    python = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    templates = sorted((PACKAGE / "templates").glob("*.html"))
    return [(p, extract_fync_python) for p in python] + [(p, extract_tornado) for p in templates]


def extracted() -> Catalog:
    """The template catalog (.pot) as the code says it today. Babel's notes on f-strings
    (messages built at run time, which stay English) are not shown."""
    catalog = Catalog(project="Fync", domain="fync", charset="utf-8", fuzzy=False)
    with contextlib.redirect_stderr(io.StringIO()):
        for path, method in sources():
            with path.open("rb") as fileobj:
                for lineno, message, comments, context in extract(method, fileobj, KEYWORDS,
                                                                  comment_tags=("TRANSLATORS:",),
                                                                  strip_comment_tags=True):
                    catalog.add(message, None, [(str(path.relative_to(REPO)), lineno)],
                                auto_comments=comments, context=context)
    return catalog


def po_path(code: str) -> Path:
    return LOCALE / code / "LC_MESSAGES" / "fync.po"


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fileobj:
        return read_po(fileobj, locale=locale)


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fileobj:
        write_po(fileobj, catalog, width=100, omit_header=False, sort_output=False)


def extract_pot() -> None:
    """The .pot anew; its date moves only when its messages do, so a rerun changes nothing."""
    catalog = extracted()
    if POT.exists():
        old = read(POT)
        if [m.id for m in old] == [m.id for m in catalog]:
            catalog.creation_date = old.creation_date
    write(POT, catalog)


def update() -> None:
    template = read(POT)
    for code in LANGUAGES:
        path = po_path(code)
        catalog = read(path, code) if path.exists() else Catalog(locale=code, domain="fync", project="Fync")
        catalog.update(template, update_header_comment=False)
        catalog.last_translator = catalog.language_team = "Fync contributors"
        catalog.obsolete.clear()  # a message the code no longer says is no longer needed
        write(path, catalog)


def compile_mo() -> None:
    for code in LANGUAGES:
        catalog = read(po_path(code), code)
        with po_path(code).with_suffix(".mo").open("wb") as fileobj:
            write_mo(fileobj, catalog, use_fuzzy=False)


if __name__ == "__main__":
    steps = {"extract": extract_pot, "update": update, "compile": compile_mo}
    for step in sys.argv[1:] or ["extract", "update", "compile"]:
        steps[step]()
