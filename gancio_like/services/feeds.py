"""Which events the feeds hold (SPEC §6 "Event feeds"), and the feeds themselves.

"Upcoming" for a feed means "not over yet": an event is in it from its publication
until its end, so a calendar keeps showing what is on right now. One without an
announced end stays for a day after its start — as Gancio keeps every event for a
day after it starts. Drafts are never in a feed, and remote friends' events neither:
a feed is this instance's own calendar. `/events/ID.ics` is one published event,
past or not: whoever asks for it asks for that one.
"""
from __future__ import annotations

from urllib.parse import urlencode

from .. import clock
from ..errors import NotFound
from ..feeds import Site
from ..storage import events as event_store
from ..storage import users as user_store
from ..storage.db import Database
from .events import tag_filter

UNENDED_FOR = 86400
RSS_ITEMS = 50  # a reader shows what is next; a calendar (ics) gets every upcoming event


def site(cfg) -> Site:
    return Site(cfg.issuer, cfg.domain, cfg.instance.timezone)


async def instance_calendar(db: Database, cfg, tag: str | None) -> bytes:
    tag = tag_filter(tag)
    events = await event_store.list_unended(db, clock.now(), UNENDED_FOR, tag)
    from ..feeds import ics  # imported on first use: see gancio_like/feeds
    return await ics.calendar(events, site(cfg), _title(cfg, tag))


async def instance_rss(db: Database, cfg, tag: str | None) -> bytes:
    tag = tag_filter(tag)
    events = await event_store.list_unended(db, clock.now(), UNENDED_FOR, tag, limit=RSS_ITEMS)
    link = f"{cfg.issuer}/feed/events.rss" + (f"?{urlencode({'tag': tag})}" if tag else "")
    from ..feeds import rss
    return rss.feed(events, site(cfg), _title(cfg, tag), link, cfg.instance.description)


async def person_calendar(db: Database, cfg, username: str) -> bytes:
    user = await user_store.get_user_by_name(db, username)
    if user is None:
        raise NotFound("user")
    events = await event_store.list_unended(db, clock.now(), UNENDED_FOR, owner_id=user.id)
    from ..feeds import ics
    return await ics.calendar(events, site(cfg), f"{user.shown_name} · {cfg.instance.name}")


async def event_calendar(db: Database, cfg, event_id: int) -> bytes:
    event = await event_store.get_event(db, event_id)
    if event is None or not event.published:
        raise NotFound("event")
    from ..feeds import ics
    return await ics.calendar([event], site(cfg), event.title)


def _title(cfg, tag: str | None) -> str:
    return f"{cfg.instance.name} events" + (f" tagged #{tag}" if tag else "")
