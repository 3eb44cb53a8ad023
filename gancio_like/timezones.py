"""Local time for people (SPEC §2 "More about accounts"): IANA zones through zoneinfo,
with the tzdata package as the zone database where the system has none. No internal imports.

Pages show a time in the viewer's zone with the zone named ("Sun 2 Jun 2030, 09:00 CEST"),
the day and month named in the viewer's language ("dom 2 giu 2030, 09:00 CEST");
event forms take `<input type="datetime-local">` values meant in that zone.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, available_timezones

from .languages import N_

FORM_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows


@functools.cache
def known_zones() -> frozenset[str]:
    """Every IANA name this machine (or the tzdata package) knows; read once, it takes ~20 ms."""
    return frozenset(available_timezones())


def is_zone(name: str) -> bool:
    return name in known_zones()


@functools.cache
def choices() -> tuple[str, ...]:
    """The zones a person picks from: "UTC" and every Area/Place name, sorted ("Etc/GMT+5",
    whose sign is the reverse of what people expect, and the like are left out)."""
    return ("UTC", *sorted(z for z in known_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


@functools.lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The zone for a known name; anything else (a stale or empty setting) is UTC."""
    return ZoneInfo(name) if is_zone(name) else ZoneInfo("UTC")


def zone_for(user, default: str) -> str:
    """A person's zone name: their own setting, else the instance's default (visitors too)."""
    own = getattr(user, "timezone", "") if user is not None else ""
    return own or default


def localize(timestamp: int, name: str) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc).astimezone(zone(name))


# The names a date shows, by weekday() and month - 1; `translate` gives them in a language.
DAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTHS = (N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"), N_("Jul"), N_("Aug"),
          N_("Sep"), N_("Oct"), N_("Nov"), N_("Dec"))


def local_text(timestamp: int, name: str, translate=str) -> str:
    """"Sun 2 Jun 2030, 09:00 CEST": the moment in that zone, with the zone named."""
    moment = localize(timestamp, name)
    return f"{translate(DAYS[moment.weekday()])} {local_day(moment, translate)}, {moment:%H:%M} {moment.tzname()}"


def local_date(timestamp: int, name: str, translate=str) -> str:
    """"2 Jun 2030": the day it was in that zone."""
    return local_day(localize(timestamp, name), translate)


def local_day(moment: datetime, translate=str) -> str:
    return f"{moment.day} {translate(MONTHS[moment.month - 1])} {moment.year}"


def iso(timestamp: int, name: str) -> str:
    """The moment with its offset in that zone, for `<time datetime=…>`."""
    return localize(timestamp, name).isoformat()


def to_form(timestamp: int | None, name: str) -> str:
    """The value for a datetime-local input showing `timestamp` in zone `name` ("" for None)."""
    return "" if timestamp is None else localize(timestamp, name).strftime(FORM_FORMAT)


def from_form(text: str, name: str) -> int:
    """A datetime-local value meant in zone `name` → unix seconds; ValueError if malformed.
    In a DST gap or overlap the earlier reading (fold=0) wins, as most calendars do."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(name))
    return int(moment.timestamp())
