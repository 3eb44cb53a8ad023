"""Event feeds anyone can subscribe to (SPEC §6 "Event feeds"): iCalendar for calendar
apps (`ics.py`, RFC 5545) and RSS 2.0 for feed readers (`rss.py`). Which events go in
them is the events service's business; these modules only write them down.

icalendar and feedgen (with lxml) take a few tenths of a second to import, so nothing
imports `ics` or `rss` until a feed is asked for (services/feeds.py loads them then):
an instance pays for them at its first poll, not at every start.
"""
from __future__ import annotations

from dataclasses import dataclass

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
RSS_MEDIA_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class Site:
    """What every entry of an instance's feeds says about where it comes from."""
    issuer: str           # base of the event pages' URLs
    domain: str           # right-hand side of UIDs
    default_zone: str     # the instance's zone, for events and owners that set none
