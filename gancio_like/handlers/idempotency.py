"""The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header) on the
API calls that create or change something: a client that sends a request again, not
knowing whether the first one arrived (an offline queue, a dropped connection), gets the
first answer back, marked `Idempotent-Replayed: true`, and nothing happens twice.

- The key is a string of 1–255 visible ASCII characters, bare or quoted as a Structured
  Field string (`"…"`); anything else is a 400.
- Keys are per person and app (the token's user and client), kept 24 h.
- The same key with another method, path or body → 409 `idempotency_key_reused`; while
  the first request is still being answered → 409 `idempotency_key_in_use`. (The draft
  suggests 422 for the first; a 409 says the same, a conflict with what the key is
  already bound to, and generic clients and fuzzers read 422 as "your body is invalid".)
- Answers are stored, errors included (a 404 stays a 404), except 5xx and 429: those
  may go differently next time, so the key is released for another try.
- Without the header nothing of this runs: it costs the other requests nothing.
"""
from __future__ import annotations

import functools
import hashlib
import json

from ..errors import Conflict, FyncError
from ..openapi import IDEMPOTENT
from ..services import idempotency as answers
from .base import known_error

HEADER = "Idempotency-Key"
MAX_KEY = 255


class KeyReused(Conflict):
    error = "idempotency_key_reused"


class KeyInUse(Conflict):
    error = "idempotency_key_in_use"


def idempotent(method):
    """Let a bearer API method be retried safely with an `Idempotency-Key` header."""
    @functools.wraps(method)
    async def run(self, *args):
        raw = self.request.headers.get(HEADER)
        if raw is None:
            return await method(self, *args)
        key = parse_key(raw)
        owner, fingerprint = (self.current_token.user_id, self.current_token.client_pk), request_hash(self.request)
        earlier = await answers.claim(self.db, owner, key, fingerprint)
        if earlier is not None:
            return replay(self, earlier, fingerprint)
        await _answer_once(self, method, args, owner, key)
    setattr(run, IDEMPOTENT, True)
    return run


def parse_key(raw: str) -> str:
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= MAX_KEY or any(not 0x21 <= ord(c) <= 0x7e or c in '"\\' for c in key):
        raise FyncError(f"{HEADER} must be 1 to {MAX_KEY} visible ASCII characters, without quotes or backslashes")
    return key


def request_hash(request) -> bytes:
    """What makes two requests the same one: method, path and query, media type, body."""
    media_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    head = f"{request.method}\n{request.uri}\n{media_type}\n".encode()
    return hashlib.sha256(head + request.body).digest()


def replay(handler, earlier: answers.KeyUse, this_request: bytes) -> None:
    if earlier.request_hash != this_request:
        raise KeyReused(f"this {HEADER} was used for another request; use a new key for a new request")
    if earlier.status is None:
        raise KeyInUse(f"the request with this {HEADER} is still being answered; try again shortly")
    handler.set_header("Idempotent-Replayed", "true")
    handler.set_status(earlier.status)
    handler.set_header("Content-Type", "application/json; charset=utf-8")
    handler.finish(earlier.body)


async def _answer_once(handler, method, args, owner: tuple[int, int], key: str) -> None:
    """Run the method, holding its answer back until it is stored: an answer sent before
    it is remembered could be lost with the process, and the retry would act again."""
    held: list = []
    handler.finish = lambda chunk=None: held.append(chunk)  # write_json ends in finish(body): keep it
    try:
        await method(handler, *args)
    except Exception as exc:
        del handler.finish
        await _remember_error(handler, owner, key, known_error(exc))
        raise
    del handler.finish
    body = held[0] if held else None
    await answers.finish(handler.db, owner, key, handler.get_status(), _text(body))
    handler.finish(body)


async def _remember_error(handler, owner: tuple[int, int], key: str, error) -> None:
    if error is None or error.status_code >= 500 or error.status_code == 429:
        await answers.release(handler.db, owner, key)
    else:
        await answers.finish(handler.db, owner, key, error.status_code, json.dumps(error.body(), separators=(",", ":")))


def _text(body) -> str:
    if body is None:
        return ""
    return body.decode("utf-8") if isinstance(body, bytes) else str(body)
