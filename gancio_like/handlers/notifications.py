"""The /notifications page (SPEC §2 "unread notifications"), and the devices on
/settings that get them by Web Push (SPEC §4): see them, remove one after the
confirm step. No JavaScript needed for any of it."""
from __future__ import annotations

import tornado.web

from ..errors import ValidationError
from ..services import notification_texts as texts
from ..services import notify, push
from .base import PageHandler
from .confirm import Ask, confirmed

SHOWN = 30


class NotificationsPage(PageHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        me = self.current_user
        items, after = await notify.list_notifications(self.db, self.fync.cursors, self.cfg.domain, me.id, SHOWN,
                                              self.get_query_argument("cursor", None))
        ctx = await texts.context(self.db, items, self.fync.notification_types, self.zone, self.locale.code)
        self.render("notifications.html", items=[(n, texts.text(n, ctx)) for n in items], next_cursor=after,
                    link=lambda url: texts.absolute(url, self.cfg.issuer))


class MarkReadForm(PageHandler):
    """Marks read what the page showed: up to its newest item, so what came since stays unread."""

    @tornado.web.authenticated
    async def post(self) -> None:
        up_to = self.get_body_argument("up_to", "")
        if not (up_to.isascii() and up_to.isdigit() and len(up_to) <= 18):
            raise ValidationError("up_to must be a notification id", "up_to")
        await notify.mark_read(self.db, self.current_user.id, int(up_to))
        self.redirect("/notifications", status=303)


class RemoveDeviceForm(PageHandler):
    """Removes one of the person's devices, after the confirm step (handlers/confirm.py)."""

    @tornado.web.authenticated
    async def post(self, subscription_id: str) -> None:
        device = await push.device(self.db, self.current_user.id, int(subscription_id))
        if confirmed(self, Ask(self._("Remove this device (%(app)s, via %(service)s)?", app=device.app_name,
                                      service=push.origin(device)),
                               self._("It gets no more notifications, until the app turns them on again."),
                               self._("Remove device"), back="/settings#devices")):
            await push.remove_device(self.db, self.current_user.id, device.id)
            self.redirect("/settings?removed=device#devices", status=303)


ROUTES = [
    (r"/notifications", NotificationsPage),
    (r"/notifications/read", MarkReadForm),
    (r"/settings/devices/([0-9]{1,18})/remove", RemoveDeviceForm),
]
