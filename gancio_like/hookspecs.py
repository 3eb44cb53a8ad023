"""The hooks a Fync plugin may implement (pluggy project "fync", SPEC §7).

Registration hooks are called once at startup. Notification hooks receive one
record from `gancio_like.notifications` after the transaction that caused it
committed; a listener that raises is logged with the plugin's name and never
fails the request, and an async listener runs in the background.
"""
import pluggy

hookspec = pluggy.HookspecMarker("fync")
hookimpl = pluggy.HookimplMarker("fync")  # what implementations are marked with (gancio_like.plugins exports it)


@hookspec
def fync_scopes():
    """At startup: return {"NAME:action": "what it lets an app do"}; NAME is the plugin's name."""


@hookspec
def fync_routes():
    """At startup: return [(url_pattern, ApiHandler subclass)]; patterns start with /api/."""


@hookspec
def fync_notification_types():
    """At startup: return {"NAME:kind": "what happened, in words"}; record them with plugins.record_notification."""


@hookspec
def fync_migrations():
    """At startup and by `fync migrate`: return the folder of the plugin's NNNN_name.sql files."""


@hookspec
def fync_api_index(user):
    """On `GET /api`: return {name: url} links to add; `user` is None without a token."""


@hookspec
def fync_startup(app):
    """After the database is open and migrated, before the first request (may be async)."""


@hookspec
def fync_shutdown(app):
    """After the server stopped taking requests, before the database closes (may be async)."""


@hookspec
def fync_user_created(event):
    """An account was created: `event` is a notifications.UserCreated."""


@hookspec
def fync_friendship_created(event):
    """Two people became friends: `event` is a notifications.FriendshipCreated."""


@hookspec
def fync_event_created(event):
    """A community event was created: `event` is a notifications.EventCreated."""


@hookspec
def fync_token_issued(event):
    """Tokens were issued by a grant: `event` is a notifications.TokenIssued."""


@hookspec
def fync_token_revoked(event):
    """A grant or token was revoked: `event` is a notifications.TokenRevoked."""
