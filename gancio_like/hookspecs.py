"""The hooks a Fync plugin may implement (pluggy project "fync", SPEC §7).

Registration hooks are called once at startup; notification hooks after the
transaction that caused them has committed.
"""
import pluggy

hookspec = pluggy.HookspecMarker("fync")


@hookspec
def fync_scopes():
    """At startup: return {"NAME:action": "what it lets an app do"} for the plugin's scopes."""


@hookspec
def fync_routes():
    """At startup: return [(url_pattern, ApiHandler subclass)] served under the API."""


@hookspec
def fync_migrations():
    """At startup and by `fync migrate`: return the folder of the plugin's NNNN_name.sql files."""


@hookspec
async def fync_startup(app):
    """After the database is open and migrated, before the first request."""


@hookspec
async def fync_shutdown(app):
    """After the server stopped taking requests, before the database closes."""
