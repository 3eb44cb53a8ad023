"""Event feeds (SPEC §6 "Event feeds"): `/feed/events.ics`, `/feed/events.rss` (`?tag=`),
`/u/NAME/events.ics` and `/events/ID.ics`.

Calendar apps poll these every few minutes, so every answer carries a strong `ETag`
(a hash of the body) and a `Last-Modified`, and a conditional GET whose validator
still holds gets 304 without a body (RFC 9110 §13). If-None-Match wins over
If-Modified-Since when both are sent (§13.2.2). Last-Modified is when this process
first served that body: the body can change with no row changing (an event ends
and leaves the feed, one is deleted), and its hash tells that, where no column can.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from email.utils import formatdate, parsedate_to_datetime

from .. import clock
from ..feeds import ICS_MEDIA_TYPE, RSS_MEDIA_TYPE
from ..services import feeds
from .base import PageHandler

MAX_AGE = 300          # seconds a cache may keep a feed without asking again
REMEMBERED = 4096      # bodies whose first-served time is kept, the most recent


class Validators:
    """When each body of each feed URL was first served, for Last-Modified.

    HTTP dates count whole seconds: if a URL's body changes twice within one second,
    both versions carry the same Last-Modified, and a client holding the first one
    would be told (If-Modified-Since) that it is current. Such a version is marked
    inexact, and If-Modified-Since is then answered 304 only for a strictly later date."""

    def __init__(self):
        self._seen: OrderedDict[tuple[str, str], tuple[int, bool]] = OrderedDict()
        self._latest: dict[str, int] = {}  # URL → when its newest body was first served

    def of(self, resource: str, etag: str) -> tuple[int, bool]:
        """(first served, exact) of this body of `resource`."""
        key = (resource, etag)
        found = self._seen.get(key)
        if found is None:
            now = clock.now()
            found = self._seen[key] = (now, self._latest.get(resource, -1) < now)
            self._latest[resource] = now
            while len(self._seen) > REMEMBERED:
                self._seen.popitem(last=False)
            if len(self._latest) > REMEMBERED:
                self._latest.clear()
        self._seen.move_to_end(key)
        return found


class FeedHandler(PageHandler):
    """A public document anyone may poll: no session is looked up, answers are cacheable."""

    async def prepare(self) -> None:
        self.current_user = None

    def send_feed(self, body: bytes, media_type: str) -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified, exact = self.application.feed_validators.of(self.request.uri, etag)
        self.set_header("ETag", etag)
        self.set_header("Last-Modified", formatdate(modified, usegmt=True))
        self.set_header("Cache-Control", f"public, max-age={MAX_AGE}")
        if self._still_fresh(etag, modified, exact):
            self.set_status(304)
            return self.finish()
        self.set_header("Content-Type", media_type)
        self.finish(body)

    def _still_fresh(self, etag: str, modified: int, exact: bool) -> bool:
        """The client's copy is current (RFC 9110 §13.1.2, §13.1.3)."""
        if_none_match = self.request.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return "*" in tags or etag in tags
        try:
            since = parsedate_to_datetime(self.request.headers.get("If-Modified-Since", ""))
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            return False
        return modified <= since.timestamp() if exact else modified < since.timestamp()

    def compute_etag(self) -> None:
        """send_feed sets the ETag itself (Tornado's own would hash the body a second time)."""
        return None


class InstanceCalendarHandler(FeedHandler):
    async def get(self) -> None:
        body = await feeds.instance_calendar(self.db, self.cfg, self.get_argument("tag", None))
        self.send_feed(body, ICS_MEDIA_TYPE)


class InstanceRssHandler(FeedHandler):
    async def get(self) -> None:
        body = await feeds.instance_rss(self.db, self.cfg, self.get_argument("tag", None))
        self.send_feed(body, RSS_MEDIA_TYPE)


class PersonCalendarHandler(FeedHandler):
    async def get(self, username: str) -> None:
        self.send_feed(await feeds.person_calendar(self.db, self.cfg, username), ICS_MEDIA_TYPE)


class EventCalendarHandler(FeedHandler):
    async def get(self, event_id: str) -> None:
        self.send_feed(await feeds.event_calendar(self.db, self.cfg, int(event_id)), ICS_MEDIA_TYPE)


ROUTES = [
    (r"/feed/events\.ics", InstanceCalendarHandler),
    (r"/feed/events\.rss", InstanceRssHandler),
    (r"/u/([a-z0-9_]{1,30})/events\.ics", PersonCalendarHandler),
    (r"/events/([0-9]{1,18})\.ics", EventCalendarHandler),
]
