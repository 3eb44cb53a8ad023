"""Community events (SPEC §2 `/events`, `/u/NAME`; §4 `/api/events`): who sees what,
who may change what, and what a valid event is. The API and the pages both go through here.

Gancio's field names (`title`, `start_datetime`, `place_name`, …) are the input too;
Gancio clients send more (`place_id`, `multidate`, `image`, …), which is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import clock, timezones
from ..errors import Forbidden, NotFound, ValidationError
from ..models import Event, User
from ..notifications import EventCreated
from ..pagination import Cursors, parse_limit
from ..storage import events as event_store
from ..storage import users as user_store
from ..storage.db import Database
from . import event_federation
from . import notify

MAX_TITLE, MAX_DESCRIPTION, MAX_PLACE, MAX_ADDRESS = 200, 10_000, 200, 500
MAX_TAGS, MAX_TAG = 20, 40
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z: every time a page can show as a date
FIELDS = ("title", "description", "start_datetime", "end_datetime", "place_name",
          "place_address", "tags", "published", "timezone")
DEFAULTS = {"description": "", "end_datetime": None, "place_name": "", "place_address": "",
            "tags": [], "published": True, "timezone": ""}
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


@dataclass(frozen=True)
class Page:
    items: list[Event]
    next_cursor: str | None


# -- reading -------------------------------------------------------------------------------

async def list_events(db: Database, cursors: Cursors, *, viewer_id: int | None = None,
                      owner_id: int | None = None, limit: str | None = None,
                      cursor: str | None = None, tag: str | None = None,
                      past: str | None = None) -> Page:
    """Upcoming events in start order (`past`: earlier ones, newest first), published
    ones and `viewer_id`'s drafts. Query strings come in raw and are checked here."""
    count, backwards, tag = parse_limit(limit), is_past(past), tag_filter(tag)
    key = [backwards, tag, owner_id]  # a cursor only continues the list it came from
    rows = await event_store.list_events(db, _position(cursors, cursor, key), count + 1, backwards,
                                         viewer_id, tag, owner_id)
    items = rows[:count]
    if len(rows) <= count:
        return Page(items, None)
    last = items[-1]
    return Page(items, cursors.encode({"s": last.start_datetime, "id": last.id, "l": key}))


def _position(cursors: Cursors, cursor: str | None, key: list) -> tuple[int, int]:
    """Where the page starts; the first page starts now, so the next ones go on from
    the same moment however long the reader takes."""
    found = cursors.decode(cursor)
    if found is None:
        return clock.now(), 0
    start, event_id = found.get("s"), found.get("id")
    if found.get("l") != key or type(start) is not int or type(event_id) is not int:
        raise ValidationError("cursor does not belong to this list", "cursor")
    return start, event_id


async def get_event(db: Database, event_id: int, viewer_id: int | None = None) -> Event:
    """The event if `viewer_id` may see it."""
    return _visible(await event_store.get_event(db, event_id), viewer_id)


async def owned_event(db: Database, event_id: int, user_id: int) -> Event:
    """The event, if `user_id` may change it (its edit form)."""
    return _check_owner(await event_store.get_event(db, event_id), user_id)


def _visible(event: Event | None, viewer_id: int | None) -> Event:
    """Another's draft is as missing as no event: a 403 would confirm that it exists."""
    if event is None or not (event.published or event.owner_id == viewer_id):
        raise NotFound("event")
    return event


def _check_owner(event: Event | None, user_id: int) -> Event:
    if _visible(event, user_id).owner_id != user_id:
        raise Forbidden("only the event's owner can change it")
    return event


async def profile(db: Database, cursors: Cursors, username: str,
                  cursor: str | None = None) -> tuple[User, Page]:
    """A public profile: the person and their upcoming published events."""
    user = await user_store.get_user_by_name(db, username)
    if user is None:
        raise NotFound("user")
    return user, await list_events(db, cursors, owner_id=user.id, cursor=cursor)


# -- writing -------------------------------------------------------------------------------

async def create_event(db: Database, owner_id: int, data: dict) -> Event:
    """A new event; plugins hear of it (drafts too) once it is committed."""
    values = {**DEFAULTS, **_clean(data, partial=False)}
    _check_times(values)
    async with db.transaction() as tx:
        event_id = await event_store.insert_event(tx, owner_id, values, clock.now())
        tx.notify(EventCreated, event_id=event_id, owner_id=owner_id, title=values["title"])
        event = await event_store.get_event(tx, event_id)
        await event_federation.announce(tx, db, None, event)
        await notify.event_published(tx, None, event)
        return event


async def update_event(db: Database, event_id: int, user_id: int, data: dict) -> Event:
    """Change the fields `data` names (a partial update); the owner only, who is
    checked first, so a stranger learns nothing from what the checks would say."""
    async with db.transaction() as tx:
        event = _check_owner(await event_store.get_event(tx, event_id), user_id)
        changes = _clean(data, partial=True)
        values = {**{name: getattr(event, name) for name in FIELDS}, **changes}
        _check_times(values)
        await event_store.update_event(tx, event_id, values, clock.now())
        changed = await event_store.get_event(tx, event_id)
        await event_federation.announce(tx, db, event, changed)
        await notify.event_published(tx, event, changed)
        return changed


async def delete_event(db: Database, event_id: int, user_id: int) -> None:
    async with db.transaction() as tx:
        event = _check_owner(await event_store.get_event(tx, event_id), user_id)
        await event_store.delete_event(tx, event_id)
        await event_federation.announce(tx, db, event, None)


# -- checking input ------------------------------------------------------------------------

def _clean(data: dict, partial: bool) -> dict:
    """The event fields in `data`, checked and normalised; a 400 names the first bad one."""
    values = {name: CHECKS[name](data[name]) for name in FIELDS if name in data}
    for name in ("title", "start_datetime"):
        if (name in values or not partial) and values.get(name) in (None, ""):
            raise ValidationError(f"{name} is required", name)
    return values


def _check_times(values: dict) -> None:
    end = values["end_datetime"]
    if end is not None and end < values["start_datetime"]:
        raise ValidationError("end_datetime must not be before start_datetime", "end_datetime")


def _text(field: str, limit: int, multiline: bool = False):
    allowed = "\n\r\t" if multiline else ""

    def check(value) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValidationError(f"{field} must be a string", field)
        value = value.strip()
        if multiline:  # a textarea sends CRLF; one kind of line break is kept
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        if len(value) > limit:
            raise ValidationError(f"{field} must be at most {limit} characters", field)
        if _has_control(value, allowed):
            raise ValidationError(f"{field} must not contain control characters", field)
        return value
    return check


def _has_control(value: str, allowed: str = "") -> bool:
    return any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in value)


def _timestamp(field: str):
    def check(value) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value)
        if type(value) is not int or not 0 <= value <= MAX_TIME:
            raise ValidationError(f"{field} must be an integer: unix seconds from 0 to {MAX_TIME}", field)
        return value
    return check


def _tags(value) -> list[str]:
    """A list of strings or one comma-separated string → lowercase, unique, in order."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("tags must be a list of strings or a comma-separated string", "tags")
    tags = []
    for part in ",".join(value).split(","):
        tag = " ".join(part.split()).lower()
        if len(tag) > MAX_TAG or _has_control(tag):
            raise ValidationError(f"tags: each at most {MAX_TAG} characters, no control characters", "tags")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"tags: at most {MAX_TAGS}", "tags")
    return tags


def _published(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise ValidationError("published must be true or false", "published")


def _zone(value) -> str:
    """An IANA zone name, or "" for the owner's own zone."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not timezones.is_zone(value):
        raise ValidationError("timezone must be an IANA time zone name such as Europe/Rome or UTC "
                              "(or empty for the owner's zone)", "timezone")
    return value


CHECKS = {"title": _text("title", MAX_TITLE), "description": _text("description", MAX_DESCRIPTION, True),
          "start_datetime": _timestamp("start_datetime"), "end_datetime": _timestamp("end_datetime"),
          "place_name": _text("place_name", MAX_PLACE), "place_address": _text("place_address", MAX_ADDRESS),
          "tags": _tags, "published": _published, "timezone": _zone}


def is_past(value: str | None) -> bool:
    """The `past` query flag."""
    if value is None:
        return False
    if value.lower() not in TRUE + FALSE:
        raise ValidationError("past must be true or false", "past")
    return value.lower() in TRUE


def tag_filter(value: str | None) -> str | None:
    """The `tag` query, normalised as tags are stored; one that cannot exist matches nothing."""
    return " ".join((value or "").split()).lower() or None
