""""People like you" (SPEC §2 /friends, §4 `GET /api/people/suggestions`).

Local users ranked by one point per shared interest and one per mutual friend
(ties: more shared interests first), never yourself, a friend, or someone with a
pending request either way. A ranking moves as people change, so it is one
bounded list (`limit` ≤ 100) rather than pages a cursor could walk.
"""
from __future__ import annotations

from ..models import Suggestion
from ..storage import friends as store
from ..storage.db import Database

TAGS_SHOWN = 5  # a reason stays one readable line


async def suggest(db: Database, me_id: int, limit: int) -> list[Suggestion]:
    return await store.list_suggestions(db, me_id, limit)


def english(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def reasons(suggestion: Suggestion, ngettext=english) -> list[str]:
    """Why someone is suggested, in words: "3 shared interests: go, hiking, jazz", "2 mutual friends".
    `ngettext(singular, plural, count)` gives the page's language (the API's are English)."""
    found = []
    tags = suggestion.shared_interests
    if tags:
        shown = ", ".join(tags[:TAGS_SHOWN]) + (", …" if len(tags) > TAGS_SHOWN else "")
        found.append(ngettext("%(count)d shared interest: %(tags)s", "%(count)d shared interests: %(tags)s",
                              len(tags)) % {"count": len(tags), "tags": shown})
    if suggestion.mutual_friends:
        found.append(ngettext("%(count)d mutual friend", "%(count)d mutual friends",
                              suggestion.mutual_friends) % {"count": suggestion.mutual_friends})
    return found
