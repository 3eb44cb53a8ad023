"""Asking before a destructive form acts (SPEC §2 "More about accounts"), without JavaScript.

A destructive button stays an ordinary form POST. Its handler checks that the thing
exists and may be changed, then calls `confirmed(self, Ask(...))` before acting. Without
`confirm=yes` in the body the call answers with a page that says what will happen and
carries the same fields back in a second form, whose button sends `confirm=yes`, and
returns False; only that second POST acts. So a bookmarked old form, or a script that
skips the step, changes nothing. Cancel is a link back to `back`, the page the form was on.

    class RemoveDeviceForm(PageHandler):
        @tornado.web.authenticated
        async def post(self, device_id: str) -> None:
            device = await push.own_device(self.db, self.current_user.id, int(device_id))
            if not confirmed(self, Ask(f"Remove {device.name}?", "It stops getting notifications.",
                                       "Remove", back="/settings#devices")):
                return
            await push.remove_device(self.db, self.current_user.id, device.id)
            self.redirect("/settings?saved=devices", status=303)

A test posts the form without `confirm` and checks that nothing changed (200 and the
question), then again with `confirm=yes` (tests/confirm_helpers.py walks both steps).
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import PageHandler

FIELD, YES = "confirm", "yes"


@dataclass(frozen=True)
class Ask:
    """The confirm page's words: a question, what happens, the button's label, where Cancel goes."""
    question: str   # "Remove bob@example.org from your friends?"
    outcome: str    # "You stop being friends on both sides. ..."
    button: str     # "Remove friend": says what it does, never just "OK"
    back: str       # a local path: the page the form was on


def confirmed(handler: PageHandler, ask: Ask) -> bool:
    """True when this POST carries the confirmation; otherwise it answers the confirm page."""
    if handler.get_body_argument(FIELD, "") == YES:
        return True
    handler.render("confirm.html", ask=ask, action=handler.request.path, fields=carried(handler))
    return False


def carried(handler: PageHandler) -> list[tuple[str, str]]:
    """The form's own fields, repeated ones too, for the second form (it gets a new _xsrf)."""
    return [(name, value) for name in handler.request.body_arguments if name not in ("_xsrf", FIELD)
            for value in handler.get_body_arguments(name)]
