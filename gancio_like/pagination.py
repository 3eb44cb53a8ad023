"""List paging for the API and pages (SPEC §4: `?limit=` ≤ 100, `?cursor=`,
`{"items": […], "next_cursor": …}`).

A cursor is the position after the last item shown (e.g. `{"t": start, "id": 42}`),
signed with the instance secret (itsdangerous) so clients treat it as opaque and a
forged or edited one is refused with a 400 instead of reaching SQL.
"""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from .errors import ValidationError

DEFAULT_LIMIT, MAX_LIMIT = 20, 100


class Cursors:
    def __init__(self, secret: str):
        self._signer = URLSafeSerializer(secret, salt="fync-cursor")

    def encode(self, position: dict) -> str:
        return self._signer.dumps(position)

    def decode(self, cursor: str | None) -> dict | None:
        """The position a cursor names; None for the first page."""
        if not cursor:
            return None
        try:
            position = self._signer.loads(cursor)
        except BadSignature:
            raise ValidationError("cursor is not one this server gave out", "cursor") from None
        if not isinstance(position, dict):
            raise ValidationError("cursor is not one this server gave out", "cursor")
        return position


def parse_limit(value: str | None) -> int:
    """`?limit=`: absent means the default; an empty one is as wrong as any non-number."""
    if value is None:
        return DEFAULT_LIMIT
    # isascii: str.isdigit() also accepts digits like "²" that int() refuses.
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}", "limit")
    return int(value)
