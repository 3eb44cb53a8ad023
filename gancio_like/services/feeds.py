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
from ..instance import Instance
from ..storage import events as event_store
from ..storage import users as user_store
from .events import tag_filter

UNENDED_FOR = 86400
RSS_ITEMS = 50  # a reader shows what is next; a calendar (ics) gets every upcoming event


def site(cfg) -> Site:
    return Site(cfg.issuer, cfg.domain, cfg.instance.timezone)


async def instance_calendar(inst: Instance, tag: str | None) -> bytes:
    tag = tag_filter(tag)
    events = await event_store.list_unended(inst.db, clock.now(), UNENDED_FOR, tag)
    from ..feeds import ics  # imported on first use: see gancio_like/feeds
    return await ics.calendar(events, site(inst.cfg), _title(inst.cfg, tag))


async def instance_rss(inst: Instance, tag: str | None) -> bytes:
    tag = tag_filter(tag)
    events = await event_store.list_unended(inst.db, clock.now(), UNENDED_FOR, tag, limit=RSS_ITEMS)
    link = f"{inst.cfg.issuer}/feed/events.rss" + (f"?{urlencode({'tag': tag})}" if tag else "")
    from ..feeds import rss
    return rss.feed(events, site(inst.cfg), _title(inst.cfg, tag), link, inst.cfg.instance.description)


async def person_calendar(inst: Instance, username: str) -> bytes:
    user = await user_store.get_user_by_name(inst.db, username)
    if user is None:
        raise NotFound("user")
    events = await event_store.list_unended(inst.db, clock.now(), UNENDED_FOR, owner_id=user.id)
    from ..feeds import ics
    return await ics.calendar(events, site(inst.cfg), f"{user.shown_name} · {inst.cfg.instance.name}")


async def event_calendar(inst: Instance, event_id: int) -> bytes:
    event = await event_store.get_event(inst.db, event_id)
    if event is None or not event.published:
        raise NotFound("event")
    from ..feeds import ics
    return await ics.calendar([event], site(inst.cfg), event.title)


def _title(cfg, tag: str | None) -> str:
    return f"{cfg.instance.name} events" + (f" tagged #{tag}" if tag else "")
