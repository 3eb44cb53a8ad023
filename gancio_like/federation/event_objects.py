"""Events as ActivityStreams `Event` objects (SPEC §6; Activity Vocabulary §3.3):
built for `GET /events/ID` and for Create/Update/Delete, and read back when a friend's
instance sends them.

Ours carry `name`, `content` (the description as HTML), `summary` (when and where,
in one line of plain text), `startTime`/`endTime` (ISO 8601 with the event's own UTC
offset), `timezone` (its IANA name, Mobilizon's term), `location` (a `Place` with
`name` and schema.org's `address`), `url`, `attributedTo`, `tag` (`Hashtag`s), an
empty `attachment` list, `published`/`updated`, addressed to Public with the owner's
followers in `cc`. What each reader makes of it: docs/federation.md.

Coming in, a Create or Update is believed only about an Event its sender wrote: the
object's id on the sender's host and its `attributedTo`, if given, the sender. Text
is clipped to Fync's own limits and HTML becomes plain text.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import urlencode

from .. import timezones
from ..storage.federation import RemoteActor
from . import host_of, too_long
from .activities import new_id
from .actors import AS_CONTEXT, actor_url

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Every term used beyond ActivityStreams' own context is declared (JSON-LD readers drop
# undeclared ones): Hashtag as Mastodon declares it, address from schema.org and
# timezone from Mobilizon's namespace, as those two use them. A Tombstone's formerType
# says "Event", the word Gancio compares; typed @vocab, it still means as:Event (the
# ActivityStreams context alone would read it as a relative IRI).
EVENT_CONTEXT = [AS_CONTEXT, {"Hashtag": "as:Hashtag", "schema": "http://schema.org#",
                              "address": "schema:address", "mz": "https://joinmobilizon.org/ns#",
                              "timezone": "mz:timezone",
                              "formerType": {"@id": "as:formerType", "@type": "@vocab"}}]
KINDS = ("Create", "Update", "Delete")
LIMITS = {"title": 200, "description": 10_000, "place_name": 200, "place_address": 500}
MAX_TAGS, MAX_TAG = 20, 40


def event_url(issuer: str, event_id: int) -> str:
    return f"{issuer}/events/{event_id}"


def event_object(issuer: str, event, default_zone: str) -> dict:
    """The `Event` for one of our events (models.Event), with its @context."""
    zone = event.zone(default_zone)
    owner, url = actor_url(issuer, event.owner), event_url(issuer, event.id)
    doc = {"@context": EVENT_CONTEXT, "id": url, "type": "Event", "name": event.title,
           "summary": when_and_where(event, zone), "content": as_html(event.description),
           "startTime": _iso(event.start_datetime, zone)}
    if event.end_datetime is not None:
        doc["endTime"] = _iso(event.end_datetime, zone)
    doc["timezone"] = zone
    if event.place_name or event.place_address:
        doc["location"] = {"type": "Place", "name": event.place_name or event.place_address,
                           "address": event.place_address}
    doc.update({"url": url, "attributedTo": owner, "tag": [_hashtag(issuer, tag) for tag in event.tags],
                "attachment": [], "published": _iso(event.created_at)})
    if event.updated_at != event.created_at:
        doc["updated"] = _iso(event.updated_at)
    doc.update({"to": [PUBLIC], "cc": [f"{owner}/followers"]})
    return doc


def _hashtag(issuer: str, tag: str) -> dict:
    return {"type": "Hashtag", "name": f"#{tag}", "href": f"{issuer}/events?{urlencode({'tag': tag})}"}


def activity(issuer: str, kind: str, actor: str, event, default_zone: str) -> dict:
    """A Create or Update of `event`, or the Delete of it (a Tombstone), by `actor`."""
    if kind == "Delete":
        obj = {"id": event_url(issuer, event.id), "type": "Tombstone", "formerType": "Event"}
    else:
        obj = {k: v for k, v in event_object(issuer, event, default_zone).items() if k != "@context"}
    if kind == "Update":
        obj["updated"] = _iso(event.updated_at)
    return {"@context": EVENT_CONTEXT, "id": new_id(issuer), "type": kind, "actor": actor,
            "object": obj, "to": [PUBLIC], "cc": [f"{actor}/followers"]}


def when_and_where(event, zone: str) -> str:
    """"Sat 1 Jun 2030, 19:30 CEST – 22:00 · The Cellar": what Mastodon shows under the title."""
    when = timezones.local_text(event.start_datetime, zone)
    if event.end_datetime is not None:
        when += " – " + timezones.local_text(event.end_datetime, zone)
    return " · ".join(part for part in (when, event.place_name) if part)


def as_html(text: str) -> str:
    """Plain text as HTML paragraphs, escaped (as the actors' `summary`)."""
    paragraphs = [p.strip("\n") for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _iso(timestamp: int, zone: str = "UTC") -> str:
    if zone == "UTC":
        return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return timezones.localize(timestamp, zone).isoformat()


# -- theirs -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IncomingEvent:
    """A Create, Update or Delete about an Event, from its author's instance (verified)."""
    kind: str
    activity_id: str
    actor: RemoteActor
    uri: str                   # the Event's id
    values: dict | None        # remote_events columns (Create/Update); None for Delete


def parse(actor: RemoteActor, activity: dict) -> IncomingEvent | None:
    """An IncomingEvent, or None when the activity is no Event business of ours."""
    kind, obj = activity.get("type"), activity.get("object")
    activity_id = activity.get("id")
    if kind not in KINDS or not isinstance(activity_id, str) or host_of(activity_id) != host_of(actor.uri):
        return None
    uri = obj.get("id") if isinstance(obj, dict) else obj
    if not isinstance(uri, str) or too_long(uri) or too_long(activity_id) or host_of(uri) != host_of(actor.uri):
        return None
    if kind == "Delete":
        return IncomingEvent(kind, activity_id, actor, uri, None)
    if not isinstance(obj, dict) or obj.get("type") != "Event" or not _by(obj, actor.uri):
        return None
    values = _values(obj, actor, uri)
    return None if values is None else IncomingEvent(kind, activity_id, actor, uri, values)


def _by(obj: dict, actor_uri: str) -> bool:
    """The object names no author, or the sender."""
    author = obj.get("attributedTo")
    authors = author if isinstance(author, list) else [author]
    ids = {a.get("id") if isinstance(a, dict) else a for a in authors if a is not None}
    return not ids or ids == {actor_uri}


def _values(obj: dict, actor: RemoteActor, uri: str) -> dict | None:
    """The columns of a remote event from its Event; None without a name or a start."""
    start, end = _time(obj.get("startTime")), _time(obj.get("endTime"))
    title = _clip(obj.get("name"), "title")
    if start is None or not title:
        return None
    place_name, place_address = _place(obj.get("location"))
    zone = obj.get("timezone")
    return {"uri": uri, "actor_uri": actor.uri, "acct": actor.acct, "url": _url(obj.get("url"), uri),
            "title": title, "description": _clip(text_of(obj.get("content") or ""), "description"),
            "start_datetime": start, "end_datetime": end if end is not None and end >= start else None,
            "place_name": place_name, "place_address": place_address,
            "timezone": zone if isinstance(zone, str) and timezones.is_zone(zone) else "",
            "tags": _tags(obj.get("tag"))}


def _time(value) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) if 0 <= moment.timestamp() <= 253402300799 else None


def _place(location) -> tuple[str, str]:
    """(name, address) of the first Place: an address may be text or a PostalAddress."""
    places = location if isinstance(location, list) else [location]
    for place in places:
        if isinstance(place, dict) and place.get("type", "Place") == "Place":
            address = place.get("address")
            if isinstance(address, dict):
                address = ", ".join(str(address[k]) for k in ("streetAddress", "addressLocality", "addressRegion",
                                                               "addressCountry") if isinstance(address.get(k), str))
            return _clip(place.get("name"), "place_name"), _clip(address, "place_address")
    return "", ""


def _url(value, fallback: str) -> str:
    if isinstance(value, dict):
        value = value.get("href")
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    ok = isinstance(value, str) and value.startswith(("https://", "http://")) and not too_long(value)
    return value if ok and host_of(value) == host_of(fallback) else fallback


def _tags(value) -> tuple[str, ...]:
    tags = []
    for tag in value if isinstance(value, list) else [value]:
        name = tag.get("name") if isinstance(tag, dict) and tag.get("type") == "Hashtag" else None
        name = " ".join(name.removeprefix("#").split()).lower()[:MAX_TAG] if isinstance(name, str) else ""
        if name and not _CONTROL.search(name) and "," not in name and name not in tags:
            tags.append(name)
    return tuple(tags[:MAX_TAGS])


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clip(value, field: str) -> str:
    """Text within Fync's limit for `field`, without control characters (line breaks kept
    in the description only)."""
    if not isinstance(value, str):
        return ""
    value = _CONTROL.sub("", value).strip()
    if field != "description":
        value = " ".join(value.split())
    return value[:LIMITS[field]]


class _Text(HTMLParser):
    """HTML → plain text: paragraphs and line breaks kept, every tag dropped, entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "blockquote", "pre"):
            self.parts.append("\n\n")

    def handle_data(self, data):
        self.parts.append(data)


def text_of(markup: str) -> str:
    if not isinstance(markup, str):
        return ""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = re.sub(r"[ \t]+\n", "\n", "".join(parts for parts in parser.parts))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
