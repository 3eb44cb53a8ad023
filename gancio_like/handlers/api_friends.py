"""The friends API: friends, requests and "people like you" (SPEC §4)."""
from __future__ import annotations

from .. import validation
from ..avatars import acct_avatar_url
from ..models import Friend, FriendRequest, Suggestion
from ..openapi import page_of
from ..pagination import parse_limit
from ..services import friends, suggestions
from .api import ApiHandler, requires_scope
from .api_account import user_json
from .idempotency import idempotent


# What services.friends.parse_acct takes, as a schema the server also holds path and
# body to: a name, or name@domain[:port] (a host of at most 260 characters fits in 262).
ACCT = {"type": "string", "maxLength": 262,
        "pattern": rf"^@?[A-Za-z0-9_.-]{{1,64}}(@[A-Za-z0-9-]{{1,63}}(\.[A-Za-z0-9-]{{1,63}})*{friends.PORT})?$",
        "description": "a name like bob, or bob@other.example for someone on another instance"}
AVATAR = {"type": "string", "format": "uri", "description": "the person's picture (an absolute URL)"}
FRIEND = {"type": "object", "required": ["acct", "username", "display_name", "since", "avatar"],
          "properties": {"acct": {"type": "string"}, "username": {"type": "string"},
                         "display_name": {"type": "string"}, "since": {"type": "integer"}, "avatar": AVATAR}}
REQUEST = {"type": "object", "required": ["id", "from", "to", "status", "created_at", "from_avatar", "to_avatar"],
           "properties": {"id": {"type": "integer"}, "from": {"type": "string"}, "to": {"type": "string"},
                          "status": {"type": "string"}, "created_at": {"type": "integer"},
                          "from_avatar": {**AVATAR, "description": "the sender's picture (an absolute URL)"},
                          "to_avatar": {**AVATAR, "description": "the recipient's picture (an absolute URL)"}}}
SUGGESTION = {"type": "object", "required": ["user", "score", "reasons", "avatar"],
              "properties": {"user": {"type": "object"}, "score": {"type": "number"}, "avatar": AVATAR,
                             "reasons": {"type": "array", "items": {"type": "string"}}}}


def friend_json(cfg, friend: Friend) -> dict:
    return {"acct": friend.acct, "username": friend.username, "display_name": friend.display_name,
            "since": friend.since,
            "avatar": acct_avatar_url(cfg.issuer, friend.acct, friend.user_id is not None, friend.avatar_version)}


def request_json(cfg, request: FriendRequest) -> dict:
    """The same for both sides; each person with their picture."""
    return {"id": request.id, "from": request.from_acct, "to": request.to_acct,
            "status": request.status, "created_at": request.created_at,
            "from_avatar": acct_avatar_url(cfg.issuer, request.from_acct, request.from_user_id is not None,
                                           request.from_avatar_version),
            "to_avatar": acct_avatar_url(cfg.issuer, request.to_acct, request.to_user_id is not None,
                                         request.to_avatar_version)}


def suggestion_json(cfg, suggestion: Suggestion) -> dict:
    user = user_json(cfg, suggestion.user)
    return {"user": user, "avatar": user["avatar"], "score": suggestion.score,
            "reasons": suggestions.reasons(suggestion),
            "shared_interests": list(suggestion.shared_interests),
            "mutual_friends": suggestion.mutual_friends}


class FriendsHandler(ApiHandler):
    openapi = {"GET": {"response": page_of(FRIEND)}}

    @requires_scope("friends:read")
    async def get(self) -> None:
        limit = parse_limit(self.get_query_argument("limit", None))
        position = self.fync.cursors.decode(self.get_query_argument("cursor", None))
        items, after = await friends.list_friends(self.db, self.cfg.domain, self.current_user.id,
                                                  limit, position)
        self.write_json({"items": [friend_json(self.cfg, f) for f in items],
                         "next_cursor": None if after is None else self.fync.cursors.encode(after)})


class FriendRequestsHandler(ApiHandler):
    openapi = {"POST": {"request": {"type": "object", "required": ["to"], "properties": {"to": ACCT}},
                        "response": REQUEST, "status": 201,
                        "links": {"cancel": {"operationId": "post_cancel_friend_request",
                                             "parameters": {"request_id": "$response.body#/id"}}},
                        "errors": {"404": "No such user on this instance",
                                   "409": "Already friends, or a request is already pending"}}}

    @requires_scope("friends:read")
    async def get(self) -> None:
        incoming, outgoing = await friends.list_requests(self.db, self.cfg.domain, self.current_user.id)
        self.write_json({"incoming": [request_json(self.cfg, r) for r in incoming],
                         "outgoing": [request_json(self.cfg, r) for r in outgoing]})

    @requires_scope("friends:write")
    @idempotent
    async def post(self) -> None:
        to = self.json_body()["to"]
        request = await friends.send_request(self.db, self.cfg.domain, self.current_user.id, to)
        self.write_json(request_json(self.cfg, request), 201)


class FriendRequestActionHandler(ApiHandler):
    """One answer to a pending request; each is its own route, so its own operation."""

    action = ""
    openapi = {"POST": {"request": None, "response": REQUEST, "status": 200,
                        "errors": {"409": "The request was already answered"}}}

    @requires_scope("friends:write")
    @idempotent
    async def post(self, request_id: str) -> None:
        request = await friends.REQUEST_ACTIONS[self.action](self.db, self.cfg.domain, self.current_user.id,
                                                             int(request_id))
        self.write_json(request_json(self.cfg, request))


class AcceptFriendRequestHandler(FriendRequestActionHandler):
    """Accept a friend request sent to you: you become friends."""
    action = "accept"


class DeclineFriendRequestHandler(FriendRequestActionHandler):
    """Decline a friend request sent to you."""
    action = "decline"


class CancelFriendRequestHandler(FriendRequestActionHandler):
    """Withdraw a friend request you sent."""
    action = "cancel"


class FriendHandler(ApiHandler):
    openapi = {"DELETE": {"status": 204, "parameters": [{"name": "acct", "in": "path", "required": True,
                                                       "schema": ACCT}]}}

    @requires_scope("friends:write")
    async def delete(self, acct: str) -> None:
        """Remove a friend (both ways; on another instance too)."""
        validation.check(acct, ACCT, "acct")
        await friends.remove_friend(self.db, self.cfg.domain, self.current_user.id, acct)
        self.set_status(204)
        self.finish()


class SuggestionsHandler(ApiHandler):
    openapi = {"GET": {"response": page_of(SUGGESTION)}}

    @requires_scope("friends:read")
    async def get(self) -> None:
        limit = parse_limit(self.get_query_argument("limit", None))
        found = await suggestions.suggest(self.db, self.current_user.id, limit)
        # One ranked list, no further pages (see services/suggestions.py).
        self.write_json({"items": [suggestion_json(self.cfg, s) for s in found], "next_cursor": None})


ROUTES = [
    (r"/api/friends", FriendsHandler),
    (r"/api/friends/requests", FriendRequestsHandler),
    # ids fit SQLite's 64-bit integers; longer digit strings are no route at all.
    (r"/api/friends/requests/([0-9]{1,18})/accept", AcceptFriendRequestHandler),
    (r"/api/friends/requests/([0-9]{1,18})/decline", DeclineFriendRequestHandler),
    (r"/api/friends/requests/([0-9]{1,18})/cancel", CancelFriendRequestHandler),
    (r"/api/friends/([^/]+)", FriendHandler),
    (r"/api/people/suggestions", SuggestionsHandler),
]
