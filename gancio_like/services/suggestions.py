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


def reasons(suggestion: Suggestion) -> list[str]:
    """Why someone is suggested, in words: "3 shared interests: go, hiking, jazz", "2 mutual friends"."""
    found = []
    tags = suggestion.shared_interests
    if tags:
        shown = ", ".join(tags[:TAGS_SHOWN]) + (", …" if len(tags) > TAGS_SHOWN else "")
        found.append(f"{_count(len(tags), 'shared interest')}: {shown}")
    if suggestion.mutual_friends:
        found.append(_count(suggestion.mutual_friends, "mutual friend"))
    return found


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
