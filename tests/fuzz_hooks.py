"""Schemathesis hooks for tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

The server refuses some schema-valid requests for rules JSON Schema cannot state; a
refusal of valid data ("ST202") is forgiven only when the answer is one of these, named
by the operation and the server's own words, so any other refusal still fails the run.
Everything else the document says is enforced, both ways.
"""
from __future__ import annotations

import json

import schemathesis

RULES = {
    # A cursor is signed by this server and names a place in one list: no schema can
    # describe the ones it gave out.
    ("GET", "/api/friends"): {"cursor is not one this server gave out", "cursor is not one this list gave out"},
    ("GET", "/api/events"): {"cursor is not one this server gave out", "cursor does not belong to this list"},
    # An end may not come before the start (for a change: before the event's start).
    ("POST", "/api/events"): {"end_datetime must not be before start_datetime"},
    ("PUT", "/api/events/{event_id}"): {"end_datetime must not be before start_datetime"},
    # You cannot befriend yourself (a name is only known to be yours at run time).
    ("POST", "/api/friends/requests"): {"you cannot send a friend request to yourself"},
    # A code or refresh token must be one this server issued, to this client; and a
    # client authenticates one way (Basic, or its id and secret in the form).
    ("POST", "/oauth/token"): {"unknown authorization code", "unknown refresh token",
                               "client credentials sent both in Basic and in the body: use one method"},
    ("POST", "/oauth/revoke"): {"client credentials sent both in Basic and in the body: use one method"},
    # An update names the client it updates, and keeps how it authenticates (RFC 7592 §2.2).
    ("PUT", "/oauth/register/{client_id}"): {"client_id cannot change",
                                             "token_endpoint_auth_method cannot change; register a new client"},
    ("POST", "/oauth/introspect"): {"client credentials sent both in Basic and in the body: use one method"},
    ("GET", "/api/notifications"): {"cursor is not one this server gave out", "cursor is not one this list gave out"},
    # A push subscription's keys must be a point on the P-256 curve and a 16-byte secret
    # (base64url of the right length); its endpoint must reach a public address.
    ("POST", "/api/push/subscriptions"): {"keys.p256dh is not base64url", "keys.auth is not base64url",
                                          "keys.p256dh must be an uncompressed P-256 point: 65 bytes, base64url",
                                          "keys.p256dh is not a point on the P-256 curve",
                                          "keys.auth must be 16 bytes, base64url"},
}
# Refusals whose words go on with what was found (a host, an address), by their start.
PREFIXES = {("POST", "/api/push/subscriptions"): ("endpoint refused: ", "endpoint is not a URL")}


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure but a refusal of valid data that one of RULES explains."""
    if failure.code != "ST202" or response.status_code != 400:
        return True
    try:
        said = json.loads(response.content).get("error_description")
    except (ValueError, AttributeError):
        return True
    key = (case.method.upper(), case.operation.path)
    return said not in RULES.get(key, set()) and not (isinstance(said, str) and said.startswith(PREFIXES.get(key, ())))
