"""The client registration bodies as JSON Schemas (SPEC §3): `/api/openapi.json`
publishes them and the registration endpoints hold every body to them first, so the
document and the server agree on what is valid.

Each schema states no more than `registration.py` and `redirect_uris.py` accept, so a
body that fits is registered (tests/test_openapi.py checks that with generated values);
the checks there stay, with their more specific messages, for the developer portal.
"""
from __future__ import annotations

import re

from ..validation import text_pattern
from .redirect_uris import MAX_REDIRECT_URIS, MAX_URI_LENGTH
from .registration import AUTH_METHODS, GRANT_TYPES, MAX_NAME, MAX_TEXT

# Characters registration refuses in what the consent page shows (registration._UNSHOWABLE).
UNSHOWABLE = "\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
NAME = {"type": "string", "maxLength": MAX_NAME, "pattern": text_pattern(UNSHOWABLE, blank_ok=False),
        "description": f"a name to show people: not blank, at most {MAX_NAME} characters, "
                       "no control or bidirectional-override characters"}

# Printable ASCII without '#' and '\': what a redirect URI may hold after its host.
_URI_CHARS = "[\\x21\\x22\\x24-\\x5b\\x5d-\\x7e]"
_PORT = "(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
_REST = f"([/?]{_URI_CHARS}*)?"
# A private-use scheme has a dot (RFC 8252 §7.1); no "//" after it, so no authority.
_NOT_SLASH = "[\\x21\\x22\\x24-\\x2e\\x30-\\x5b\\x5d-\\x7e]"
_REDIRECT_URI = (f"(https://[A-Za-z0-9.-]+{_PORT}{_REST}"
                 f"|http://(127\\.0\\.0\\.1|\\[::1\\]|localhost){_PORT}{_REST}"
                 f"|[a-z][a-z0-9+.-]*\\.[a-z0-9+.-]*:(/?{_NOT_SLASH}{_URI_CHARS}*|/)?)")
REDIRECT_URI = {"type": "string", "maxLength": MAX_URI_LENGTH, "pattern": f"^{_REDIRECT_URI}$",
                "description": "an https URL, http on loopback (127.0.0.1, [::1], localhost) or a private-use "
                               "scheme with a dot (com.example.app:/cb); no fragment, no userinfo"}
REDIRECT_URIS = {"type": "array", "minItems": 1, "maxItems": MAX_REDIRECT_URIS, "items": REDIRECT_URI}
# Gancio's string form: space-separated.
REDIRECT_URI_LIST = {"type": "string", "maxLength": MAX_REDIRECT_URIS * (MAX_URI_LENGTH + 1),
                     "pattern": f"^ *{_REDIRECT_URI}( +{_REDIRECT_URI}){{0,{MAX_REDIRECT_URIS - 1}}} *$",
                     "description": f"up to {MAX_REDIRECT_URIS} redirect URIs, space-separated: " +
                                    REDIRECT_URI["description"]}
WEBSITE = {"type": "string", "maxLength": MAX_TEXT, "pattern": f"^(https?://[A-Za-z0-9.-]+{_PORT}{_REST})?$",
           "description": "an http(s) URL, or empty"}


def scope_list(scopes) -> dict:
    """Space-separated scopes of this instance (core and plugins'); empty means the default."""
    one = "(" + "|".join(re.escape(name) for name in scopes.names()) + ")"
    return {"type": "string", "pattern": f"^( *{one}( +{one})* *)?$",
            "description": "space-separated scopes of this instance; empty for the default"}


def client_schemas(scopes) -> dict[str, dict]:
    """{"rfc7591", "rfc7592", "gancio", "gancio_form"}: each endpoint's body."""
    rfc7591 = {"type": "object", "required": ["redirect_uris"], "properties": {
        "redirect_uris": REDIRECT_URIS, "client_name": NAME, "client_uri": WEBSITE, "scope": scope_list(scopes),
        "token_endpoint_auth_method": {"enum": list(AUTH_METHODS)},
        "grant_types": {"type": "array", "items": {"enum": sorted(GRANT_TYPES)}},
        "response_types": {"type": "array", "items": {"enum": ["code"]}}}}
    gancio = {"client_name": NAME, "scopes": {**scope_list(scopes), "description": "default event:write"},
              "website": WEBSITE}
    return {"rfc7591": rfc7591,
            "rfc7592": {**rfc7591, "properties": {**rfc7591["properties"], "client_id": {
                "type": "string", "description": "if sent, the client's own"}}},
            "gancio": {"type": "object", "required": ["client_name", "redirect_uris"], "properties": {
                **gancio, "redirect_uris": {"oneOf": [REDIRECT_URIS, REDIRECT_URI_LIST]}}},
            "gancio_form": {"type": "object", "required": ["client_name", "redirect_uris"],
                            "additionalProperties": {"type": "string"},  # a form field is sent once
                            "properties": {**gancio, "redirect_uris": REDIRECT_URI_LIST}}}
