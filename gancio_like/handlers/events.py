"""Event pages (SPEC §2 `/events`) and public profiles (`/u/NAME`, `/@NAME`).

Times are shown in the viewer's time zone, named (PageHandler's `when`), and event forms
take local date and time in the person's zone (`<input type="datetime-local">` carries
none): the event keeps that zone as its own `timezone`.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import tornado.web

from .. import timezones
from ..errors import ValidationError
from ..federation.actors import ACTIVITY_JSON, wants_activity_json
from ..services import event_federation, events, friends, remote_follow
from .base import PageHandler
from .confirm import Ask, confirmed

TEXT_FIELDS = ("title", "description", "start_datetime", "end_datetime", "place_name",
               "place_address", "tags")


def form_of(event, zone: str) -> dict:
    """An event as its edit form's values, its times in `zone`."""
    return {"title": event.title, "description": event.description,
            "start_datetime": timezones.to_form(event.start_datetime, zone),
            "end_datetime": timezones.to_form(event.end_datetime, zone), "place_name": event.place_name,
            "place_address": event.place_address, "tags": ", ".join(event.tags),
            "published": event.published}


def event_input(form: dict, zone: str) -> dict:
    """The form's values as the service takes them: its times read in `zone`, kept as the event's."""
    return {**form, "start_datetime": local_time(form["start_datetime"], zone, "start_datetime"),
            "end_datetime": local_time(form["end_datetime"], zone, "end_datetime"), "timezone": zone}


def local_time(text: str, zone: str, field: str) -> int | None:
    """A datetime-local value meant in `zone` → unix seconds ("" → None)."""
    if not (text or "").strip():
        return None
    try:
        return timezones.from_form(text, zone)
    except (ValueError, OverflowError):
        raise ValidationError(f"{field} must be a date and time like 2025-06-01T19:30", field) from None


def next_link(path: str, filters: dict, page: events.Page) -> str | None:
    """The next page's URL: the same filters and the page's cursor."""
    if page.next_cursor is None:
        return None
    return f"{path}?{urlencode({**filters, 'cursor': page.next_cursor})}"


class EventPageHandler(PageHandler):
    """Shared by the event pages: the submitted form."""

    @property
    def user_id(self) -> int | None:
        return self.current_user.id if self.current_user else None

    def submitted_form(self) -> dict:
        form = {name: self.get_body_argument(name, "") for name in TEXT_FIELDS}
        form["published"] = "published" in self.request.body_arguments  # an unticked box sends nothing
        return form

    def render_form(self, form: dict, event_id: int | str | None = None, error: str | None = None) -> None:
        """The new-event form, or with `event_id` that event's edit form."""
        if error:
            self.set_status(400)
        self.render("event_form.html", form=form, event_id=event_id, error=error)


class EventListHandler(EventPageHandler):
    async def get(self) -> None:
        query = {name: self.get_argument(name, None) for name in ("cursor", "tag", "past")}
        page = await events.list_events(self.db, self.fync.cursors, viewer_id=self.user_id, **query)
        filters = {k: v for k, v in query.items() if k != "cursor" and v}
        tag, past = events.tag_filter(query["tag"]), events.is_past(query["past"])
        remote = [] if past or query["cursor"] else await event_federation.upcoming_remote_events(self.db, tag)
        self.render("events.html", page=page, tag=tag or "", past=past, remote=remote,
                    next_url=next_link("/events", filters, page))


class EventNewHandler(EventPageHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.render_form({"published": True})

    @tornado.web.authenticated
    async def post(self) -> None:
        form = self.submitted_form()
        try:
            event = await events.create_event(self.db, self.user_id, event_input(form, self.zone))
        except ValidationError as exc:
            return self.render_form(form, error=exc.description)
        self.redirect(f"/events/{event.id}", status=303)


class EventDetailHandler(EventPageHandler):
    """The event's page, or its ActivityStreams `Event` (SPEC §6) to who asks for that."""

    async def get(self, event_id: str) -> None:
        self.set_header("Vary", "Accept")
        if wants_activity_json(self.request.headers.get("Accept")):
            document = await event_federation.event_document(self.db, self.cfg, int(event_id))
            self.set_header("Content-Type", ACTIVITY_JSON)
            return self.finish(json.dumps(document, separators=(",", ":")))
        event = await events.get_event(self.db, int(event_id), self.user_id)
        self.render("event.html", event=event, mine=event.owner_id == self.user_id)


class RemoteEventHandler(EventPageHandler):
    """A remote friend's event, marked as coming from their instance."""

    async def get(self, event_id: str) -> None:
        self.render("remote_event.html", event=await event_federation.remote_event(self.db, int(event_id)))


class EventEditHandler(EventPageHandler):
    @tornado.web.authenticated
    async def get(self, event_id: str) -> None:
        event = await events.owned_event(self.db, int(event_id), self.user_id)
        self.render_form(form_of(event, self.zone), event.id)

    @tornado.web.authenticated
    async def post(self, event_id: str) -> None:
        form = self.submitted_form()
        try:
            await events.update_event(self.db, int(event_id), self.user_id, event_input(form, self.zone))
        except ValidationError as exc:
            return self.render_form(form, event_id, exc.description)
        self.redirect(f"/events/{event_id}", status=303)


class EventDeleteHandler(EventPageHandler):
    @tornado.web.authenticated
    async def post(self, event_id: str) -> None:
        event = await events.owned_event(self.db, int(event_id), self.user_id)
        if confirmed(self, Ask(self._("Delete “%(title)s”?", title=event.title),
                               self._("It is removed for everyone who could see it. This cannot be undone."),
                               self._("Delete event"), back=f"/events/{event.id}")):
            await events.delete_event(self.db, event.id, self.user_id)
            self.redirect("/events", status=303)


class ProfileHandler(EventPageHandler):
    """`/u/NAME` and `/@NAME`. Its "Add from your instance" form comes back here with
    `domain`, and is sent on to that instance's add-a-friend form (services/remote_follow.py)."""

    async def get(self, username: str) -> None:
        cursor, domain = self.get_argument("cursor", None), self.get_query_argument("domain", None)
        user, page = await events.profile(self.db, self.fync.cursors, username, cursor)
        error = None
        if domain is not None:
            try:
                target = remote_follow.add_friend_url(domain, f"{user.username}@{self.cfg.domain}")
                return self.redirect(target, status=303)
            except ValidationError as exc:
                self.set_status(400)
                error = exc.description
        relation = await friends.relation(self.db, self.cfg.domain, self.user_id, user.id) if self.user_id else ""
        self.render("profile.html", person=user, page=page, relation=relation, domain=domain or "", error=error,
                    next_url=next_link(f"/u/{user.username}", {}, page))


# At most 18 digits: every ID fits SQLite's 64-bit integer; longer is a plain 404.
EVENT_ID = r"([0-9]{1,18})"
ROUTES = [
    (r"/events", EventListHandler),
    (r"/events/new", EventNewHandler),
    (rf"/events/{EVENT_ID}", EventDetailHandler),
    (rf"/events/{EVENT_ID}/edit", EventEditHandler),
    (rf"/events/remote/{EVENT_ID}", RemoteEventHandler),
    (rf"/events/{EVENT_ID}/delete", EventDeleteHandler),
    (r"/u/([^/]+)", ProfileHandler),
    (r"/@([^/]+)", ProfileHandler),
]
