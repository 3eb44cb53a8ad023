"""The header's sections (SPEC §2: pages mark the current section in the header).

One place maps a page's path to its section. Templates call `current("events")`, a
Tornado ui_method (app.py), on each header link: it gives ` aria-current="page"` to the
link of the page's own section and nothing to the others."""
from __future__ import annotations

# By a path's first segment; profiles are handled apart.
SECTIONS = {"events": "events", "friends": "friends", "notifications": "notifications",
            "settings": "settings", "dev": "dev", "admin": "admin", "login": "login",
            "password": "login", "signup": "signup"}


def section_of(path: str, user) -> str:
    """The section a page belongs to ('' for none: the consent page, unknown paths).
    A profile is "profile" for its owner, else part of "friends" (where people are found)."""
    if path == "/":
        return "home"
    parts = path.split("/")
    if parts[1] == "u" and len(parts) > 2:
        person = parts[2]
    elif parts[1].startswith("@"):
        person = parts[1][1:]
    else:
        return SECTIONS.get(parts[1], "")
    return "profile" if user is not None and person == user.username else "friends"


def current(handler, name: str) -> str:
    """For a header link in a template: `{% raw current("events") %}`."""
    return ' aria-current="page"' if section_of(handler.request.path, handler.current_user) == name else ""
