"""The access log: one logfmt line per request on the `fync.access` logger.

    method=GET path=/oauth/authorize query="client_id=abc&scope=profile&state=***" status=302 ms=4.1 ip=203.0.113.7
    method=GET path=/api/me status=200 ms=1.3 ip=203.0.113.7 client=abc

logfmt rather than JSON: the first reader is a volunteer in `journalctl -u fync`, and
`key=value` reads as plain text, yet `grep status=5`, awk and the log shippers
(Loki, Vector, fluent-bit) split it without a schema. Values with spaces, quotes or
control characters are JSON-quoted, so a crafted path can never start a new line.

Secrets never reach it: no headers, cookies or bodies are logged, and of the query
only the names are kept, with the values of a short list of harmless parameters;
every other value is `***`. A list of what is safe fails closed: a parameter added
tomorrow (`code`, `state`, `token`, `code_verifier`, a plugin's own) is hidden until
someone decides otherwise. `client` is the client_id of the bearer token used, if any.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qsl

log = logging.getLogger("fync.access")

# Parameters whose values are never secret and help an admin see what an app asked for.
SHOWN = frozenset({
    "response_type", "client_id", "redirect_uri", "scope", "code_challenge_method",
    "response_mode", "grant_type", "error", "resource", "rel", "limit", "done", "saved", "revoked",
})
HIDDEN = "***"
# A name that is not a plain word may be a secret sent bare (`/cb?<token>`): never shown.
NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,40}$")
PLAIN = re.compile(r"^[\x21\x23-\x3c\x3e-\x7e]+$")  # printable ASCII but space, `"` and `=`


def log_request(handler) -> None:
    """Tornado's `log_function`: one line per finished request."""
    request, status = handler.request, handler.get_status()
    fields = [("method", request.method), ("path", request.path)]
    if request.query:
        fields.append(("query", safe_query(request.query)))
    fields += [("status", status), ("ms", f"{1000.0 * request.request_time():.1f}"),
               ("ip", request.remote_ip)]
    token = getattr(handler, "current_token", None)
    if token is not None:
        fields.append(("client", token.client_id))
    log.log(logging.ERROR if status >= 500 else logging.INFO, "%s", logfmt(fields))


def safe_query(query: str) -> str:
    """The query with every value hidden but those of the SHOWN parameters."""
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if not NAME.match(name):
            parts.append(HIDDEN)
        elif name in SHOWN:
            parts.append(f"{name}={value}")
        else:
            parts.append(f"{name}={HIDDEN}")
    return "&".join(parts)


def logfmt(fields: list[tuple[str, object]]) -> str:
    return " ".join(f"{key}={_value(value)}" for key, value in fields)


def _value(value) -> str:
    text = str(value)
    return text if PLAIN.fullmatch(text) else json.dumps(text)  # not .match: "$" passes a final "\n"
