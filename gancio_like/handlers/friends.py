"""The /friends page: friends, requests both ways, add by name, people like you (SPEC §2).

Every form POSTs to its own path and answers 303 back to /friends with a notice
picked from a fixed list (never text from the URL); a refused action re-renders
the page with 400 and the reason. Removing a friend asks first (handlers/confirm.py);
declining or cancelling a request does not: either side can simply ask again, so
nothing is lost that a click cannot bring back.
"""
from __future__ import annotations

import tornado.web

from ..errors import FyncError
from ..languages import N_
from ..services import friends, suggestions
from .base import PageHandler
from .confirm import Ask, confirmed

FRIENDS_SHOWN, PEOPLE_SHOWN = 50, 10
MAX_NAME = 320  # the form's maxlength
NOTICES = {"sent": N_("Friend request sent."), "befriended": N_("They had already asked you: you are now friends."),
           "accepted": N_("Request accepted: you are now friends."), "declined": N_("Request declined."),
           "cancelled": N_("Request cancelled."), "removed": N_("Friend removed.")}


class FriendsBase(PageHandler):
    """Renders the page: for GET /friends, and for a form whose action was refused."""

    async def show(self, error: str | None = None, name: str = "") -> None:
        me, domain = self.current_user, self.cfg.domain
        position = self.fync.cursors.decode(self.get_query_argument("cursor", None))
        mine, after = await friends.list_friends(self.db, domain, me.id, FRIENDS_SHOWN, position)
        incoming, outgoing = await friends.list_requests(self.db, domain, me.id)
        people = await suggestions.suggest(self.db, me.id, PEOPLE_SHOWN)
        self.render("friends.html", friends=mine, incoming=incoming, outgoing=outgoing, people=people,
                    reasons=self.reasons, name=name, error=error,
                    next_cursor=None if after is None else self.fync.cursors.encode(after),
                    notice=self.notice(NOTICES))

    async def act(self, action, done: str, name: str = "") -> None:
        """Run one service call; 303 to the page with a notice, or the page again with 400."""
        try:
            result = await action
        except FyncError as exc:
            return await self.refuse(exc, name)
        if done == "sent" and result.status == "accepted":
            done = "befriended"
        back = "/" if self.get_body_argument("next", "") == "/" else "/friends"  # the home page answers too
        self.redirect(f"{back}?done={done}", status=303)

    async def refuse(self, error: FyncError, name: str = "") -> None:
        self.set_status(400)
        await self.show(error=error.description, name=name)


class FriendsPage(FriendsBase):
    """`?add=ACCT` fills in the add-a-friend form (where "Add from your instance" lands)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self.show(name=self.get_query_argument("add", "")[:MAX_NAME])


class SendRequestForm(FriendsBase):
    @tornado.web.authenticated
    async def post(self) -> None:
        name = self.get_body_argument("name", "")
        await self.act(friends.send_request(self.db, self.cfg.domain, self.current_user.id, name),
                       "sent", name)


DONE = {"accept": "accepted", "decline": "declined", "cancel": "cancelled"}  # for the notice


class RequestActionForm(FriendsBase):
    @tornado.web.authenticated
    async def post(self, request_id: str, action: str) -> None:
        service = friends.REQUEST_ACTIONS[action]
        await self.act(service(self.db, self.cfg.domain, self.current_user.id, int(request_id)), DONE[action])


class RemoveFriendForm(FriendsBase):
    """Asks first (handlers/confirm.py); a name that is no friend gets the page with 400."""

    @tornado.web.authenticated
    async def post(self) -> None:
        me, domain = self.current_user.id, self.cfg.domain
        try:
            acct = await friends.friend_acct(self.db, domain, me, self.get_body_argument("acct", ""))
        except FyncError as exc:
            return await self.refuse(exc)
        if confirmed(self, Ask(self._("Remove %(acct)s from your friends?", acct=acct),
                               self._("You stop being friends on both sides. To be friends again, "
                                      "one of you sends a new friend request."),
                               self._("Remove friend"), back="/friends")):
            await self.act(friends.remove_friend(self.db, domain, me, acct), "removed")


ROUTES = [
    (r"/friends", FriendsPage),
    (r"/friends/requests", SendRequestForm),
    (r"/friends/requests/([0-9]{1,18})/(accept|decline|cancel)", RequestActionForm),
    (r"/friends/remove", RemoveFriendForm),
]
