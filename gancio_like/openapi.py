"""The OpenAPI 3.1 description of the API (SPEC §4, last row), built from the registries.

Nothing here is written by hand per endpoint except the OAuth endpoints, which are
not bearer API handlers: every `ApiHandler` route is walked, its path parameters
are named after the handler method's arguments, its security comes from the scope
the method declares, and its summary from the docstring. A handler may add detail:

    openapi = {"POST": {"request": {...schema...}, "response": {...schema...},
                        "status": 201, "parameters": [...], "summary": "...",
                        "errors": {"409": "what a 409 means here"}}}

A response schema shaped like `page_of(item)` gets the `limit`/`cursor` parameters;
`"request": None` says a method takes no body; `"links"` are OpenAPI Link Objects
added to the success response. `ApiHandler.json_body()` holds a body to `request`.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from . import __version__
from .oauth.schemas import client_schemas

ERROR = {"type": "object", "required": ["error", "error_description"],
         "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}}}
JSON_OBJECT = {"type": "object"}
BODY_METHODS = ("POST", "PUT", "PATCH")
IDEMPOTENT = "fync_idempotent"  # set on handler methods that take an Idempotency-Key (handlers/idempotency.py)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Any unique string (1-255 visible ASCII characters): sent again with the same request "
                   "within 24 h, the first answer is replayed (marked `Idempotent-Replayed: true`) and "
                   "nothing is done twice (draft-ietf-httpapi-idempotency-key-header).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!#-\\[\\]-~]+$"}}
IDEMPOTENCY_ERRORS = {"409": "This Idempotency-Key was used for a different request "
                             "(`idempotency_key_reused`), or its request is still being answered "
                             "(`idempotency_key_in_use`: try again shortly)"}


@dataclass(frozen=True)
class Route:
    """One URL rule: its regex, its handler class, and per method the scope (None = public)."""
    pattern: str
    handler: type
    scopes: dict[str, str | None] | None  # None: not a bearer API handler


def page_of(item: dict) -> dict:
    """The schema of a paginated list (SPEC §4: `items` and `next_cursor`)."""
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": item},
                           "next_cursor": {"type": ["string", "null"]}}}


def document(cfg, scopes, routes: list[Route]) -> dict:
    """The whole document: API routes, the OAuth endpoints, and the security schemes."""
    paths: dict[str, dict] = {}
    seen_ids: set[str] = set()
    for route in routes:
        if route.scopes is not None:
            _add_api_route(paths, route, seen_ids)
    _add_oauth_endpoints(paths, routes, oauth_operations(scopes))
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{cfg.instance.name} API", "version": __version__,
                 "description": cfg.instance.description or "Fync: a community server with an open OAuth 2.0 API."},
        "servers": [{"url": cfg.issuer}],
        "paths": dict(sorted(paths.items())),
        "components": _components(cfg, scopes),
    }


# --- API handlers -------------------------------------------------------------------

def uri_template(route: Route) -> str:
    """The route's path with a `{name}` per parameter, as the document and `GET /api` show it."""
    groups, template = path_template(route.pattern)
    return template.format(*(f"{{{name}}}" for name in _slot_names(route, groups)))


def _slot_names(route: Route, groups: list[str]) -> list[str]:
    # One path, one set of names: the first method's arguments name the slots for all.
    method = next(iter(route.scopes or {"GET": None})).lower()
    return param_names(getattr(route.handler, method), groups)


def _add_api_route(paths: dict, route: Route, seen_ids: set[str]) -> None:
    if not route.scopes:
        return
    groups = path_template(route.pattern)[0]
    names = _slot_names(route, groups)
    path = uri_template(route)
    declared = getattr(route.handler, "openapi", None) or {}
    item = paths.setdefault(path, {})
    for method, scope in route.scopes.items():
        op = _operation(route.handler, method, scope, declared.get(method, {}), path)
        op["operationId"] = unique(f"{method.lower()}_{snake(route.handler.__name__)}", seen_ids)
        params = _merge_params(_path_params(names, groups) + _page_params(op), declared.get(method, {}))
        if getattr(getattr(route.handler, method.lower()), IDEMPOTENT, False):
            params.append(IDEMPOTENCY_KEY)
            _add_errors(op["responses"], IDEMPOTENCY_ERRORS)
        if params:
            op["parameters"] = params
        item[method.lower()] = op


def _operation(handler: type, method: str, scope: str | None, extra: dict, path: str) -> dict:
    op = {"summary": extra.get("summary") or summary(handler, method, path), "tags": [_tag(handler)],
          "security": [{"oauth2": [scope]}] if scope else [],
          "responses": _responses(method, scope, extra, has_params="{" in path)}
    request = extra.get("request", JSON_OBJECT if method in BODY_METHODS else None)  # None: takes no body
    if request is not None:
        op["requestBody"] = {"required": "request" in extra, "content": {"application/json": {"schema": request}}}
    return op


def _responses(method: str, scope: str | None, extra: dict, has_params: bool) -> dict:
    """The declared (or a generic JSON) success, and the errors every API call can give."""
    status = str(extra.get("status", "200" if method == "GET" else "2XX"))
    schema = extra.get("response", None if status == "204" else JSON_OBJECT)
    success = {"description": "Success"}
    if schema:
        success["content"] = {"application/json": {"schema": schema}}
    if "links" in extra:  # OpenAPI Link Objects: what a client can do next with this answer
        success["links"] = extra["links"]
    errors = {"400": "BadRequest", "401": "Unauthorized"}  # 401 too when public: a bad token is refused
    if scope:
        errors["403"] = "Forbidden"
    if has_params:
        errors["404"] = "NotFound"
    responses = {status: success, **{code: {"$ref": f"#/components/responses/{name}"} for code, name in errors.items()}}
    _add_errors(responses, extra.get("errors", {}))  # a handler's own refusals, e.g. 409
    return responses


def _add_errors(responses: dict, errors: dict) -> None:
    for code, description in errors.items():
        if code in responses and "description" in responses[code]:
            description = f"{responses[code]['description']}; or: {description}"
        responses[code] = {"description": description, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}


def summary(handler: type, method: str, path: str) -> str:
    """The method's docstring's first line, else the class's, else the method and path."""
    for obj in (getattr(handler, method.lower(), None), handler):
        doc = inspect.getdoc(obj) if obj is not None and obj.__doc__ else None
        if doc:
            return doc.strip().splitlines()[0]
    return f"{method} {path}"


def path_template(pattern: str) -> tuple[list[str], str]:
    """A Tornado route regex → (each group's regex, the path with `{}` slots for them)."""
    body = pattern.removeprefix("^").removesuffix("$").removesuffix("/?")
    groups, out, i = [], [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append(body[i + 1])
            i += 2
        elif body[i] == "(":
            if body.startswith("(?", i) and not body.startswith("(?P<", i):
                raise ValueError(f"route {pattern!r}: only capturing groups may vary")
            end = _group_end(body, i)
            groups.append(body[i + 1:end])
            out.append("{}")
            i = end + 1
        elif body[i] in ".*+?[]|{}^$":
            raise ValueError(f"route {pattern!r} is not a plain path: only groups may vary")
        else:
            out.append(body[i])
            i += 1
    return groups, "".join(out)


def _group_end(body: str, start: int) -> int:
    depth, i = 0, start
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(body[i], 0)
        if depth == 0:
            return i
        i += 1
    raise ValueError(f"unbalanced group in route {body!r}")


def param_names(method, groups: list[str]) -> list[str]:
    """Path parameter names: a named group's name, else the method's positional arguments in order."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    args = [p.name for p in list(inspect.signature(method).parameters.values())[1:] if p.kind in kinds]
    named = [re.match(r"\?P<(\w+)>", group) for group in groups]
    return [m.group(1) if m else args[i] if i < len(args) else f"arg{i + 1}" for i, m in enumerate(named)]


def _path_params(names: list[str], groups: list[str]) -> list[dict]:
    return [{"name": name, "in": "path", "required": True, "schema": _group_schema(regex)}
            for name, regex in zip(names, groups)]


def _group_schema(regex: str) -> dict:
    if regex.startswith("?P<"):
        regex = regex[regex.index(">") + 1:]
    if re.fullmatch(r"(\\d|\[0-9\])(\+|\{\d*,?\d*\})", regex):
        return {"type": "integer", "minimum": 0}
    if re.fullmatch(r"[a-z_]+(\|[a-z_]+)+", regex):
        return {"type": "string", "enum": regex.split("|")}
    return {"type": "string"} if regex == "[^/]+" else {"type": "string", "pattern": f"^{regex}$"}


def _page_params(op: dict) -> list[dict]:
    schema = op["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if {"items", "next_cursor"} <= set(schema.get("properties", {})):
        return [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "cursor", "in": "query", "description": "the `next_cursor` of the previous page",
                 "schema": {"type": "string"}}]
    return []


def _merge_params(generated: list[dict], extra: dict) -> list[dict]:
    """Declared parameters replace generated ones with the same name and place."""
    declared = extra.get("parameters", [])
    keys = {(p["name"], p["in"]) for p in declared}
    return [p for p in generated if (p["name"], p["in"]) not in keys] + list(declared)


def _tag(handler: type) -> str:
    module = handler.__module__.rpartition(".")[2]
    return module.removeprefix("api_") if module != "api" else "api"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Handler")).lower()


def unique(name: str, seen: set[str]) -> str:
    candidate, n = name, 2
    while candidate in seen:
        candidate, n = f"{name}_{n}", n + 1
    seen.add(candidate)
    return candidate


# --- OAuth endpoints (SPEC §3): form or JSON, authenticated as a client, not by bearer -----

def _form_fields(properties: dict, required: list[str]) -> dict:
    """A form as the OAuth endpoints read it (RFC 6749 §3.2): each parameter once; an
    empty one counts as left out, so a required one is non-empty; others are ignored."""
    return {"type": "object", "required": required, "additionalProperties": {"type": "string"},
            "properties": {name: text if isinstance(text, dict) else
                           {"type": "string", **({"minLength": 1} if name in required else {}),
                            **({"description": text} if text else {})}
                           for name, text in properties.items()}}


def _form(schema: dict) -> dict:
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}


def _json(schema: dict, status: str = "200", description: str = "Success") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}


CLIENT_AUTH = [{"clientBasic": []}, {}]  # Basic, or client_id (+ client_secret) in the form
CLIENT_FIELDS = {"client_id": "client_secret_post or public clients", "client_secret": "client_secret_post"}
TOKEN = {"type": "object", "required": ["access_token", "token_type", "refresh_token", "scope"],
         "properties": {"access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                        "expires_in": {"type": "integer", "description": "absent when access tokens never expire"},
                        "refresh_token": {"type": "string"}, "scope": {"type": "string"}}}
INTROSPECTION = {"type": "object", "required": ["active"], "properties": {
    "active": {"type": "boolean"}, "scope": {"type": "string"}, "client_id": {"type": "string"},
    "username": {"type": "string"}, "sub": {"type": "string"}, "token_type": {"type": "string"},
    "exp": {"type": "integer"}, "iat": {"type": "integer"}, "iss": {"type": "string"}}}
ERRORS = {"400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}}
TOO_MANY = {"429": {"$ref": "#/components/responses/TooManyRequests"}}
DELETED = {"204": {"description": "Deleted"}}
CLIENT_ID = [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def oauth_operations(scopes) -> dict[str, dict[str, dict]]:
    """The OAuth endpoints' operations; registration bodies are those the endpoints enforce."""
    bodies = client_schemas(scopes)
    return {
        "/.well-known/oauth-authorization-server": {"get": {
            "summary": "Authorization server metadata (RFC 8414)", "security": [], "responses": _json(JSON_OBJECT)}},
        "/oauth/token": {"post": {
            "summary": "Exchange a code or a refresh token for tokens (RFC 6749 §4.1.3, §6)", "security": CLIENT_AUTH,
            "requestBody": _form({"oneOf": [
                _form_fields({"grant_type": {"const": "authorization_code"}, "code": "", "code_verifier": "PKCE",
                              "redirect_uri": "the one sent to authorize", "scope": "ignored", **CLIENT_FIELDS},
                             ["grant_type", "code"]),
                _form_fields({"grant_type": {"const": "refresh_token"}, "refresh_token": "",
                              "scope": "a subset of the granted scope", **CLIENT_FIELDS},
                             ["grant_type", "refresh_token"])]}),
            "responses": {**_json(TOKEN), **ERRORS}}},
        "/oauth/revoke": {"post": {
            "summary": "Revoke an access or refresh token (RFC 7009)", "security": CLIENT_AUTH,
            "requestBody": _form(_form_fields({"token": "", "token_type_hint": "access_token or refresh_token",
                                               **CLIENT_FIELDS}, ["token"])),
            "responses": {"200": {"description": "Revoked, or unknown"}, **ERRORS}}},
        "/oauth/introspect": {"post": {
            "summary": "Describe a token the calling client holds (RFC 7662)", "security": [{"clientBasic": []}, {}],
            "requestBody": _form(_form_fields({"token": "", "token_type_hint": "", **CLIENT_FIELDS}, ["token"])),
            "responses": {**_json(INTROSPECTION), **ERRORS}}},
        "/oauth/register": {"post": {
            "summary": "Register a client (RFC 7591)", "security": [], "requestBody": _json_body(bodies["rfc7591"]),
            "responses": {**_json(JSON_OBJECT, "201", "Registered"), "400": ERRORS["400"], **TOO_MANY}}},
        "/oauth/register/{client_id}": {
            method: {"summary": summary_, "security": [{"registrationToken": []}], "parameters": CLIENT_ID,
                     **({"requestBody": _json_body(bodies["rfc7592"])} if method == "put" else {}),
                     "responses": {**(_json(JSON_OBJECT) if method != "delete" else DELETED), **ERRORS}}
            for method, summary_ in (("get", "Read a registration (RFC 7592)"),
                                     ("put", "Update a registration (RFC 7592)"),
                                     ("delete", "Delete a registration (RFC 7592)"))},
        "/api/client": {"post": {
            "summary": "Register a client, Gancio style (form or JSON)", "security": [],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": bodies["gancio"]},
                "application/x-www-form-urlencoded": {"schema": bodies["gancio_form"]}}},
            "responses": {**_json(GANCIO_REGISTERED), "400": ERRORS["400"], **TOO_MANY}}},
    }


GANCIO_REGISTERED = {"type": "object", "required": ["client_id", "client_secret", "name", "scopes", "website",
                                                    "redirect_uris"],
                     "properties": {name: {"type": "string"} for name in ("client_id", "client_secret", "name",
                                                                          "scopes", "website", "redirect_uris")}}


def _add_oauth_endpoints(paths: dict, routes: list[Route], operations: dict[str, dict[str, dict]]) -> None:
    """Each served OAuth endpoint, noting the other paths its handler answers on."""
    served = {}
    for route in routes:
        try:
            served.setdefault(path_template(route.pattern)[1], route.handler)
        except ValueError:
            continue  # not a plain path, so none of these
    for path, methods in operations.items():
        handler = served.get(re.sub(r"\{[^}]+\}", "{}", path))
        if handler is None:
            continue
        aliases = [p for p, h in served.items() if h is handler and p != path and "{" not in p]
        note = {"description": "Also served at " + ", ".join(aliases) + "."} if aliases else {}
        paths[path] = {m: {**op, "tags": ["oauth"], "operationId": f"oauth_{m}{_snake_path(path)}", **note}
                       for m, op in methods.items()}


def _snake_path(path: str) -> str:
    return re.sub(r"[^a-z]+", "_", path.lower()).rstrip("_")


def _components(cfg, scopes) -> dict:
    issuer = cfg.issuer
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    challenge = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return {
        "schemas": {"Error": ERROR},
        "responses": {
            "BadRequest": {"description": "Bad input; nothing changed", "content": error},
            "Unauthorized": {"description": "No token, or a bad, expired or revoked one", "headers": challenge,
                             "content": error},
            "Forbidden": {"description": "The token lacks the scope named in WWW-Authenticate, or the "
                                         "resource is not yours", "headers": challenge, "content": error},
            "NotFound": {"description": "No such resource", "content": error},
            "TooManyRequests": {"description": "Over the limit; see Retry-After", "content": error},
        },
        "securitySchemes": {
            "oauth2": {"type": "oauth2", "flows": {"authorizationCode": {
                "authorizationUrl": f"{issuer}/oauth/authorize", "tokenUrl": f"{issuer}/oauth/token",
                "refreshUrl": f"{issuer}/oauth/token",
                "scopes": {name: scopes.describe(name) for name in scopes.names()}}}},
            "clientBasic": {"type": "http", "scheme": "basic", "description": "client_id and client_secret"},
            "registrationToken": {"type": "http", "scheme": "bearer",
                                  "description": "the registration_access_token from registration (RFC 7592)"},
        },
    }
