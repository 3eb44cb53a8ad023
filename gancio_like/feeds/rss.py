"""RSS 2.0 of upcoming events, written with feedgen, for feed readers.

An item per event: its title, its page as link and permalink guid, the tags as
categories, and a description that says when (in the event's zone, named) and where
before the event's own text. lastBuildDate is the newest change among the items, not
the time of writing, so an unchanged feed is byte for byte the same (its ETag too).
"""
from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime, timezone

from feedgen.feed import FeedGenerator

from .. import timezones
from . import Site

EPOCH = 0


def feed(events: Iterable, site: Site, title: str, link: str, description: str) -> bytes:
    """The RSS document of `events` (models.Event), in their order; `link` is its own URL."""
    events = list(events)
    fg = FeedGenerator()
    fg.title(title)
    fg.link(href=link, rel="self")
    fg.link(href=f"{site.issuer}/events", rel="alternate")
    fg.description(description or title)
    fg.generator("Fync")
    fg.lastBuildDate(_utc(max((e.updated_at for e in events), default=EPOCH)))
    for event in reversed(events):  # feedgen puts the last added first
        _item(fg, event, site)
    return fg.rss_str(pretty=False)


def _item(fg: FeedGenerator, event, site: Site) -> None:
    url = f"{site.issuer}/events/{event.id}"
    item = fg.add_entry()
    item.title(event.title)
    item.link(href=url)
    item.guid(url, permalink=True)
    item.pubDate(_utc(event.created_at))
    item.description(_description(event, site.default_zone))
    for tag in event.tags:
        item.category(term=tag)


def _description(event, default_zone: str) -> str:
    """HTML, as readers show RSS descriptions: when and where, then the text, all escaped."""
    zone = event.zone(default_zone)
    when = timezones.local_text(event.start_datetime, zone)
    if event.end_datetime is not None:
        when += " – " + timezones.local_text(event.end_datetime, zone)
    where = ", ".join(part for part in (event.place_name, event.place_address) if part)
    paragraphs = [when, where, *event.description.split("\n\n")]
    return "".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)
