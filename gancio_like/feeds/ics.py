"""iCalendar (RFC 5545) for events, written with the icalendar library.

One VEVENT per event: UID `event-ID@DOMAIN`, DTSTAMP and LAST-MODIFIED (its last
change: RFC 5545 §3.8.7.2 says so for a calendar without METHOD), DTSTART/DTEND in
the event's own zone with a VTIMEZONE for each zone used, SUMMARY, DESCRIPTION,
LOCATION, URL and CATEGORIES.

icalendar takes ~0.5 ms to write one event (it folds lines character by character),
so a feed of 10 000 events would take five seconds each time a calendar polls. Each
VEVENT is therefore kept, as bytes, keyed by everything it is made of: a feed is
mostly joined from the cache, and an edited event simply has a new key. A cold build
yields to the event loop every few events, so other requests go on meanwhile.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime, timezone

import icalendar

from .. import timezones
from . import Site

PRODID = "-//Fync//Fync events//EN"
CACHED = 20_000            # VEVENTs kept (~0.5 KB each)
YIELD_EVERY = 50           # events written between two turns of the event loop
_END = b"END:VCALENDAR\r\n"
_vevents: OrderedDict[tuple, bytes] = OrderedDict()
_vtimezones: dict[tuple, bytes] = {}


async def calendar(events: Iterable, site: Site, name: str) -> bytes:
    """A VCALENDAR named `name` holding `events` (models.Event), in their order."""
    events = list(events)
    zones = sorted({event.zone(site.default_zone) for event in events} - {"UTC"})
    parts = [_head(name)] + [_vtimezone(zone, *_years(events)) for zone in zones]
    for done, event in enumerate(events):
        parts.append(_vevent(event, site))
        if done % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
    return b"".join(parts) + _END


def _head(name: str) -> bytes:
    """The calendar's own properties: an empty VCALENDAR, without its END line."""
    cal = icalendar.Calendar()
    # No METHOD: with one, DTSTAMP would have to be the time of writing (RFC 5545 §3.8.7.2),
    # and no two polls would get the same feed.
    for key, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN"),
                       ("x-wr-calname", name)):
        cal.add(key, value)
    return cal.to_ical().removesuffix(_END)


def _years(events: list) -> tuple[int, int]:
    """The years the VTIMEZONEs must cover: from the first start to past the last end."""
    if not events:
        return 1970, 1971
    starts = [e.start_datetime for e in events]
    ends = [e.end_datetime or e.start_datetime for e in events]
    return _utc(min(starts)).year, _utc(max(ends)).year + 1


def _vtimezone(zone: str, first: int, last: int) -> bytes:
    key = (zone, first, last)
    if key not in _vtimezones:
        if len(_vtimezones) > 1000:
            _vtimezones.clear()
        tz = icalendar.Timezone.from_tzinfo(timezones.zone(zone), tzid=zone, first_date=date(first, 1, 1),
                                            last_date=date(last, 1, 1))
        _vtimezones[key] = tz.to_ical()
    return _vtimezones[key]


def _vevent(event, site: Site) -> bytes:
    key = (event, event.zone(site.default_zone), site)
    found = _vevents.get(key)
    if found is None:
        found = _vevents[key] = _write(event, key[1], site)
        while len(_vevents) > CACHED:
            _vevents.popitem(last=False)
    else:
        _vevents.move_to_end(key)
    return found


def _write(event, zone: str, site: Site) -> bytes:
    vevent = icalendar.Event()
    vevent.add("uid", f"event-{event.id}@{site.domain}")
    for name, moment in (("dtstamp", event.updated_at), ("last-modified", event.updated_at),
                         ("created", event.created_at)):
        vevent.add(name, _utc(moment))
    vevent.add("dtstart", timezones.localize(event.start_datetime, zone))
    if event.end_datetime is not None:
        vevent.add("dtend", timezones.localize(event.end_datetime, zone))
    vevent.add("summary", event.title)
    if event.description:
        vevent.add("description", event.description)
    location = ", ".join(part for part in (event.place_name, event.place_address) if part)
    if location:
        vevent.add("location", location)
    vevent.add("url", f"{site.issuer}/events/{event.id}")
    if event.tags:
        vevent.add("categories", list(event.tags))
    return vevent.to_ical()


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)
