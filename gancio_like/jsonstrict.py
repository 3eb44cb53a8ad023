"""Strict JSON for text that comes from outside: request bodies, fetched actors and
client metadata, inbox activities. No internal imports."""
from __future__ import annotations

import json
import re

# SQLite cannot store an unpaired surrogate (the insert raises), and NUL truncates
# strings in C libraries and logs; neither has a place in a request's text.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnstorableJSON(ValueError):
    """Valid JSON holding text the instance will not store; `field` is the top-level key."""

    def __init__(self, field: str | None):
        where = f"{field}: " if field is not None else ""
        super().__init__(f"{where}a NUL character or an unpaired surrogate is not allowed")
        self.field = field


def parse_json(body: bytes):
    """A document as strict JSON (RFC 8259): UTF-8, no NaN or Infinity, no NUL or
    unpaired surrogate in any string or key. Raises ValueError saying what is wrong."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("the body must be valid JSON: it is nested too deeply") from None
    except ValueError:
        raise ValueError("the body must be valid JSON") from None
    top = data.items() if isinstance(data, dict) else [(None, data)]
    stack = [(key, item) for key, value in top for item in (key, value)]
    while stack:  # iterative: a deep but valid document must not exhaust the stack
        field, item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise UnstorableJSON(field if isinstance(field, str) and not _UNSTORABLE.search(field) else None)
        elif isinstance(item, dict):
            stack.extend((field, x) for pair in item.items() for x in pair)
        elif isinstance(item, list):
            stack.extend((field, x) for x in item)
    return data


def parse_object(body: bytes) -> dict:
    """`parse_json` for what must be an object (a request body, an activity, a fetched
    document). Raises ValueError saying what is wrong."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")
