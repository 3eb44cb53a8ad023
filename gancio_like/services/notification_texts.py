"""What a notification says, in words: one function per type, shared by the
notifications page, the API and the pushes (SPEC §4 Web Push payload
`{"type", "title", "body", "url"}`). Each function is the one place its type's words
live, in the reader's language: the page's on the notifications page, the one they
chose in settings in a push (English when they chose none, as a push has no browser
to ask), English in the API (for developers; the app shows the words it gets).

Times are the reader's: in their time zone, with the zone named. A push carries
nothing secret (no token, no e-mail): only what the notifications page shows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .. import languages, timezones
from ..models import Notification
from ..storage import notifications as store
from ..storage.db import Database, Transaction
from ..notification_types import NotificationTypes

MAX_TITLE, MAX_BODY = 120, 300  # characters; with a URL (≤ 1024), a payload stays below 4 KB


@dataclass(frozen=True)
class Text:
    title: str
    body: str


@dataclass(frozen=True)
class Context:
    """What the words need beyond the notification: the reader's zone, events named."""
    types: NotificationTypes
    zone: str
    events: dict[int, tuple[str, int, str]]  # local events named: id → (title, start, timezone)
    remote_events: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # remote friends' events
    language: str = languages.DEFAULT

    def _(self, message: str, **values) -> str:
        """`message` in the reader's language, with `%(name)s` filled from `values`."""
        translated = languages.translator(self.language).gettext(message)
        return translated % values if values else translated

    def when(self, timestamp: int) -> str:
        return timezones.local_text(timestamp, self.zone, languages.translator(self.language).gettext)


def zone_of(reader, cfg) -> str:
    """The reader's time zone: their own, else the instance's default."""
    return timezones.zone_for(reader, cfg.instance.timezone)


def _who(n: Notification, ctx: Context) -> str:
    """How people here know the actor: their display name, else their name, else their acct."""
    return n.actor.display_name or n.actor.username or n.actor.acct or ctx._("Someone")


def friend_request(n: Notification, ctx: Context) -> Text:
    who = _who(n, ctx)
    named = f"{who} ({n.actor.acct})" if n.actor.acct and n.actor.acct != who else who
    return Text(ctx._("New friend request"), ctx._("%(who)s wants to be your friend.", who=named))


def friend_accepted(n: Notification, ctx: Context) -> Text:
    return Text(ctx._("Friend request accepted"),
                ctx._("%(who)s accepted your friend request: you are friends now.", who=_who(n, ctx)))


def friend_event(n: Notification, ctx: Context) -> Text:
    """A local friend's event (a local actor), or a remote friend's (stored here as they sent it)."""
    event = (ctx.events if n.actor.username is not None else ctx.remote_events).get(n.object_id)
    title = ctx._("New event from %(who)s", who=_who(n, ctx))
    if event is None:  # deleted since
        return Text(title, ctx._("Open it to see when and where."))
    name, start, _zone = event
    return Text(title, f"{name}, {ctx.when(start)}")


def plugin_type(n: Notification, ctx: Context) -> Text:
    """A plugin's type: its declared description (as the plugin wrote it), by whom."""
    return Text(ctx.types.describe(n.type) or ctx._("Notification"), ctx._("From %(who)s.", who=_who(n, ctx)))


TEXTS = {"friend_request": friend_request, "friend_accepted": friend_accepted, "friend_event": friend_event}


def text(n: Notification, ctx: Context) -> Text:
    found = TEXTS.get(n.type, plugin_type)(n, ctx)
    return Text(_cut(found.title, MAX_TITLE), _cut(found.body, MAX_BODY))


def _cut(value: str, most: int) -> str:
    return value if len(value) <= most else value[:most - 1] + "…"


async def context(db: Database | Transaction, items: list[Notification], types: NotificationTypes,
                  zone: str, language: str = languages.DEFAULT) -> Context:
    """The Context for a list of notifications: a query for the events they name, local and remote."""
    named = [n for n in items if n.type == "friend_event" and n.object_id is not None]
    local = sorted({n.object_id for n in named if n.actor.username is not None})
    remote = sorted({n.object_id for n in named if n.actor.username is None})
    return Context(types, zone, await store.get_event_summaries(db, local),
                   await store.get_remote_event_summaries(db, remote), language)


def absolute(url: str, issuer: str) -> str:
    """A stored URL as links need it: paths here get the instance's address."""
    return issuer + url if url.startswith("/") else url or issuer + "/notifications"


def payload(n: Notification, words: Text, issuer: str) -> bytes:
    """The push payload (SPEC §4): JSON {"type", "title", "body", "url"}, nothing else."""
    return json.dumps({"type": n.type, "title": words.title, "body": words.body,
                       "url": absolute(n.url, issuer)}, ensure_ascii=False, separators=(",", ":")).encode()
