"""`/api/notifications` and `/api/push/...` (SPEC §4): what happened to you, and the
devices it is pushed to (Web Push)."""
from __future__ import annotations

from ..avatars import avatar_url, remote_avatar_url
from ..models import Notification, PushSubscription
from ..openapi import page_of
from ..pagination import parse_limit
from ..services import notification_texts as texts
from ..services import notify, push
from ..services.notification_texts import Text
from .api import ApiHandler, public, requires_scope

ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
ACTOR = {"type": "object", "required": ["acct", "display_name", "avatar"],
         "properties": {"acct": {"type": "string"}, "display_name": {"type": "string"},
                        "avatar": {"type": ["string", "null"], "format": "uri"}}}
NOTIFICATION = {"type": "object", "required": ["id", "type", "created_at", "read", "actor", "object", "url"],
                "properties": {"id": ID, "type": {"type": "string", "description": "friend_request, "
                                                  "friend_accepted, friend_event, or a plugin's NAME:kind"},
                               "created_at": {"type": "integer"}, "read": {"type": "boolean"}, "actor": ACTOR,
                               "object": {"type": ["integer", "null"], "description": "the request's or event's id"},
                               "url": {"type": "string", "format": "uri"},
                               "title": {"type": "string"}, "body": {"type": "string"}}}
PAGE = {**page_of(NOTIFICATION), "properties": {**page_of(NOTIFICATION)["properties"],
                                               "unread": {"type": "integer", "description": "up to 100"}}}
READ = {"type": "object", "required": ["marked", "unread"],
        "properties": {"marked": {"type": "integer"}, "unread": {"type": "integer"}}}
_B64URL = "^[A-Za-z0-9_-]+={0,2}$"
SUBSCRIBE = {"type": "object", "required": ["endpoint", "keys"], "properties": {
    "endpoint": {"type": "string", "maxLength": push.MAX_ENDPOINT, "pattern": "^https://[^#\\x00-\\x20\\x7f]+$",
                 "description": "the push service's https URL for this device (no fragment, no spaces)"},
    "keys": {"type": "object", "required": ["p256dh", "auth"], "properties": {
        "p256dh": {"type": "string", "minLength": 87, "maxLength": 88, "pattern": _B64URL,
                   "description": "base64url of the device's P-256 public key (65 bytes, uncompressed)"},
        "auth": {"type": "string", "minLength": 22, "maxLength": 24, "pattern": _B64URL,
                 "description": "base64url of the device's 16-byte authentication secret"}}}},
    "description": "a browser's PushSubscription.toJSON(); other fields (expirationTime) are ignored"}
SUBSCRIPTION = {"type": "object", "required": ["id", "endpoint", "created_at", "last_delivered_at"],
                "properties": {"id": ID, "endpoint": {"type": "string"}, "created_at": {"type": "integer"},
                               "last_delivered_at": {"type": ["integer", "null"]}}}


def actor_json(issuer: str, n: Notification) -> dict:
    actor = n.actor
    if actor.username is not None:
        avatar = avatar_url(issuer, actor.username, actor.avatar_version)
    else:
        avatar = remote_avatar_url(issuer, actor.acct) if actor.acct else None
    return {"acct": actor.acct, "display_name": actor.display_name, "avatar": avatar}


def notification_json(issuer: str, n: Notification, words: Text) -> dict:
    return {"id": n.id, "type": n.type, "created_at": n.created_at, "read": n.read,
            "actor": actor_json(issuer, n), "object": n.object_id, "url": texts.absolute(n.url, issuer),
            "title": words.title, "body": words.body}


def subscription_json(subscription: PushSubscription) -> dict:
    return {"id": subscription.id, "endpoint": subscription.endpoint, "created_at": subscription.created_at,
            "last_delivered_at": subscription.last_delivered_at}


class NotificationsHandler(ApiHandler):
    openapi = {"GET": {"response": PAGE}}

    @requires_scope("notifications")
    async def get(self) -> None:
        """Your notifications, newest first."""
        user = self.current_user
        limit = parse_limit(self.get_query_argument("limit", None))
        items, after = await notify.list_notifications(self.db, self.fync.cursors, self.cfg.domain, user.id, limit,
                                              self.get_query_argument("cursor", None))
        ctx = await texts.context(self.db, items, self.fync.notification_types, texts.zone_of(user, self.cfg))
        self.write_json({"items": [notification_json(self.cfg.issuer, n, texts.text(n, ctx)) for n in items],
                         "next_cursor": after, "unread": await notify.count_unread(self.db, user.id)})


class NotificationsReadHandler(ApiHandler):
    openapi = {"POST": {"request": {"type": "object", "required": ["up_to"], "properties": {"up_to": ID}},
                        "response": READ, "status": 200}}

    @requires_scope("notifications")
    async def post(self) -> None:
        """Mark your notifications read, up to the id `up_to` (the newest you have seen)."""
        marked = await notify.mark_read(self.db, self.current_user.id, self.json_body()["up_to"])
        self.write_json({"marked": marked, "unread": await notify.count_unread(self.db, self.current_user.id)})


class PushKeyHandler(ApiHandler):
    openapi = {"GET": {"response": {"type": "object", "required": ["public_key"], "properties": {
        "public_key": {"type": "string", "description": "base64url uncompressed P-256 point, for "
                                                        "PushManager.subscribe's applicationServerKey"}}}}}

    @public
    def get(self) -> None:
        """The instance's VAPID public key (RFC 8292)."""
        self.set_header("Cache-Control", "public, max-age=86400")
        self.write_json({"public_key": self.fync.push.public_key})


class PushSubscriptionsHandler(ApiHandler):
    openapi = {"GET": {"response": {"type": "object", "required": ["items"], "properties": {
                   "items": {"type": "array", "items": SUBSCRIPTION}}}},
               "POST": {"request": SUBSCRIBE, "response": SUBSCRIPTION, "status": 201,
                        "errors": {"409": f"This app already has {push.MAX_PER_GRANT} devices subscribed"}}}

    @requires_scope("notifications")
    async def get(self) -> None:
        """This app's push subscriptions (the devices it subscribed for you)."""
        found = await push.list_for_grant(self.db, self.current_token)
        self.write_json({"items": [subscription_json(s) for s in found]})

    @requires_scope("notifications")
    async def post(self) -> None:
        """Send your notifications to this device (a PushSubscription); the same endpoint again updates it."""
        body = self.json_body()
        subscription = await push.subscribe(self.db, self.current_token, body["endpoint"], body["keys"],
                                            self.cfg.federation.allow_private_addresses)
        self.write_json(subscription_json(subscription), 201)


class PushSubscriptionHandler(ApiHandler):
    openapi = {"DELETE": {"status": 204}}

    @requires_scope("notifications")
    async def delete(self, subscription_id: str) -> None:
        """Stop pushing to this device."""
        await push.unsubscribe(self.db, self.current_token, int(subscription_id))
        self.set_status(204)
        self.finish()


ROUTES = [
    (r"/api/notifications", NotificationsHandler),
    (r"/api/notifications/read", NotificationsReadHandler),
    (r"/api/push/key", PushKeyHandler),
    (r"/api/push/subscriptions", PushSubscriptionsHandler),
    (r"/api/push/subscriptions/([0-9]{1,18})", PushSubscriptionHandler),
]
