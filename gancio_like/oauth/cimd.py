"""Client ID Metadata Documents (SPEC §3; draft-ietf-oauth-client-id-metadata-document).

A `client_id` that is an https URL names a JSON document at that URL describing
the app: `client_id` (exactly that URL), `client_name`, `client_uri`,
`redirect_uris`, optional `logo_uri`, `scope`, and `token_endpoint_auth_method:
"none"`. The app needs no registration here: the instance fetches the document
with the fetch it was handed (`net.fetch_json`: SSRF guards, ≤ 5 s, ≤ 64 KiB, no
redirects), checks it, and keeps it as a `clients` row with source 'cimd' until its
Cache-Control says it is stale (≤ 24 h). CIMD clients are always public: PKCE is required
and there is no secret to check.

Decisions:
- CIMD is a form of anonymous registration, so it works only with
  `registration = "open"`. With "approval" every fetched app would have to wait
  for an admin anyway, and with "closed" anonymous apps are refused, so in both
  cases a URL `client_id` is an unknown client (None). Rows already cached stay
  in the table (admins see them) but are not used.
- A stale row is refetched; if that fails the client is unknown until the
  document is back (no serving of stale metadata: the owner may have withdrawn it).
- A refetch updates name, website, redirect URIs and scopes but keeps `status`,
  so `fync client disable URL` sticks.
- `website` is `client_uri` only when it is on the same host as the `client_id`:
  the consent page shows it as "the app's site", and a document may not borrow
  another site's name (e.g. a document on someone.github.io claiming github.io).
  Otherwise the website shown is the client_id's own origin.
- `logo_uri` is checked but not stored or fetched (the consent page shows no logos).
- The instance's own app (SPEC §9) has the client ID `{public_url}/app/client.json`.
  Its document is built from the configuration, never fetched (an instance asking
  itself over HTTP would wait on its own event loop, and behind a proxy may not reach
  itself at all), and it works whatever `registration` says: nobody registers it.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

from .. import clock
from ..errors import FetchError
from ..models import Client
from ..scopes import format_scope
from ..storage import clients as client_store
from .context import OAuthContext
from .errors import OAuthError
from .redirect_uris import validate_redirect_uris
from .registration import check_name, check_website

log = logging.getLogger("fync.cimd")

FETCH_TIMEOUT = 5.0            # seconds (SPEC §3); tests lower it
MAX_DOCUMENT_BYTES = 65536     # 64 KiB (SPEC §3)
DEFAULT_CACHE_SECONDS = 300    # no usable Cache-Control
MAX_CACHE_SECONDS = 86400      # SPEC §3: at most 24 h
_MAX_AGE = re.compile(r'max-age\s*=\s*"?(\d{1,12})"?')


class InvalidDocument(Exception):
    """The client ID URL or its document breaks a rule; the message says which."""


def is_metadata_url(client_id: str) -> bool:
    """Whether `client_id` names a metadata document (registered ids are hex, never URLs)."""
    return client_id.startswith(("https://", "http://"))


async def find_cimd_client(ctx: OAuthContext, client_id: str) -> Client | None:
    """The client the document at `client_id` describes, fetched or cached; None when
    CIMD is off here, or the URL, the fetch or the document is no good (logged)."""
    if client_id == own_client_id(ctx.cfg):
        return await _own_client(ctx)
    if ctx.cfg.oauth.registration != "open":
        log.info("client metadata document %r not used: registration is %r",
                 client_id, ctx.cfg.oauth.registration)
        return None
    allow_private = ctx.cfg.federation.allow_private_addresses
    now = clock.now()
    try:
        check_client_id_url(client_id, allow_private)
        cached = await client_store.get_cimd_client(ctx.db, client_id)
        if cached is not None and cached[1] is not None and now < cached[1]:
            return cached[0]
        document, headers = await ctx.fetch_json(client_id, allow_private=allow_private,
                                                 timeout=FETCH_TIMEOUT, max_bytes=MAX_DOCUMENT_BYTES)
        fields = parse_document(ctx, client_id, document)
    except (FetchError, InvalidDocument) as exc:
        log.warning("client metadata document %r refused: %s", client_id, exc)
        return None
    lifetime = cache_lifetime(headers.get("Cache-Control"))
    async with ctx.db.transaction() as tx:
        await client_store.upsert_cimd_client(tx, client_id=client_id, expires_at=now + lifetime,
                                              now=now, **fields)
        cached = await client_store.get_cimd_client(tx, client_id)
    return None if cached is None else cached[0]


# -- the instance's own app (SPEC §9) ------------------------------------------------

OWN_APP_PATH = "/app/"
# What the app asks for; a scope this instance does not know (yet) is left out of its document.
OWN_APP_SCOPES = ("profile", "friends:read", "friends:write", "event:read", "event:write", "notifications")


def own_client_id(cfg) -> str:
    return f"{cfg.issuer}{OWN_APP_PATH}client.json"


def own_document(cfg, scopes) -> dict:
    """The app's Client ID Metadata Document, as `/app/client.json` serves it."""
    return {"client_id": own_client_id(cfg), "client_name": f"{cfg.instance.name} app",
            "client_uri": f"{cfg.issuer}{OWN_APP_PATH}", "redirect_uris": [f"{cfg.issuer}{OWN_APP_PATH}"],
            "logo_uri": f"{cfg.issuer}{OWN_APP_PATH}icons/icon-192.png",
            "scope": " ".join(s for s in OWN_APP_SCOPES if s in scopes.names()),
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"]}


def is_own_client(cfg, client: Client) -> bool:
    return client.source == "cimd" and client.client_id == own_client_id(cfg)


async def _own_client(ctx: OAuthContext) -> Client | None:
    """The own app's row, written from the configuration when it is missing or differs
    (a new instance name or public_url); a disabled app stays disabled."""
    doc = own_document(ctx.cfg, ctx.scopes)
    fields = {"name": doc["client_name"], "website": doc["client_uri"],
              "redirect_uris": doc["redirect_uris"], "scopes": format_scope(doc["scope"].split())}
    cached = await client_store.get_cimd_client(ctx.db, doc["client_id"])
    if cached is not None and _same(cached[0], fields):
        return cached[0]
    now = clock.now()
    async with ctx.db.transaction() as tx:
        await client_store.upsert_cimd_client(tx, client_id=doc["client_id"], expires_at=now + MAX_CACHE_SECONDS,
                                              now=now, **fields)
        cached = await client_store.get_cimd_client(tx, doc["client_id"])
    return None if cached is None else cached[0]


def _same(client: Client, fields: dict) -> bool:
    return (client.name, client.website, list(client.redirect_uris), client.scopes) == \
        (fields["name"], fields["website"], fields["redirect_uris"], frozenset(fields["scopes"].split()))


def check_client_id_url(url: str, allow_private: bool) -> None:
    """The draft's rules for a client identifier URL (§3), or InvalidDocument."""
    if not re.fullmatch(r"[\x21-\x7e]+", url):
        raise InvalidDocument("the client_id URL must be printable ASCII without spaces")
    if "#" in url:
        raise InvalidDocument("the client_id URL must not contain a fragment")
    if "\\" in url:
        raise InvalidDocument("the client_id URL must not contain a backslash")
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError as exc:
        raise InvalidDocument(f"unparseable client_id URL: {exc}") from None
    if "@" in parts.netloc:
        raise InvalidDocument("the client_id URL must not contain a user name or password")
    if not parts.hostname:
        raise InvalidDocument("the client_id URL has no host")
    if parts.scheme == "http" and not allow_private:
        raise InvalidDocument("the client_id URL must be https")
    if not parts.path.startswith("/"):
        raise InvalidDocument("the client_id URL must have a path")
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        raise InvalidDocument("the client_id URL must not contain . or .. path segments")


def parse_document(ctx: OAuthContext, url: str, doc: dict) -> dict:
    """The fields of the `clients` row a valid document gives, or InvalidDocument."""
    if doc.get("client_id") != url:
        raise InvalidDocument("its client_id is not exactly the URL it was fetched from")
    method = doc.get("token_endpoint_auth_method")
    if method != "none":
        raise InvalidDocument(f"token_endpoint_auth_method must be \"none\", not {method!r:.40}")
    if "client_secret" in doc or "client_secret_expires_at" in doc:
        raise InvalidDocument("a metadata document must not carry a client secret")
    if not isinstance(doc.get("redirect_uris"), list):
        raise InvalidDocument("redirect_uris must be an array")
    try:
        redirect_uris = validate_redirect_uris(doc["redirect_uris"])
        name = check_name(doc.get("client_name"))
        client_uri = check_website(doc.get("client_uri"))
        _check_logo(doc.get("logo_uri"))
    except (OAuthError, ValueError) as exc:
        raise InvalidDocument(getattr(exc, "description", str(exc))) from None
    return {"name": name, "website": _website(url, client_uri), "redirect_uris": redirect_uris,
            "scopes": format_scope(_scopes(ctx, doc.get("scope")))}


def _check_logo(value) -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) > 2000 or urlsplit(value).scheme not in ("https", "http") \
            or not urlsplit(value).netloc:
        raise InvalidDocument("logo_uri must be an http(s) URL")


def _website(url: str, client_uri: str) -> str:
    own = urlsplit(url)
    if client_uri and urlsplit(client_uri).hostname == own.hostname:
        return client_uri
    return f"{own.scheme}://{own.netloc}/"


def _scopes(ctx: OAuthContext, declared) -> frozenset[str]:
    """Every scope this instance knows, narrowed to the document's `scope` if it has one.

    The app is not registered anywhere, so nobody chose its scopes in advance:
    the `scope` parameter of each authorization request and the user's ticks on
    the consent page decide what a token gets. A declared `scope` only narrows it
    (least privilege); names unknown here (another instance's plugins) are ignored.
    """
    known = frozenset(ctx.scopes.names())
    if declared is None:
        return known
    if not isinstance(declared, str):
        raise InvalidDocument("scope must be a space-separated string")
    scopes = known & set(declared.split())
    if not scopes:
        raise InvalidDocument("none of the document's scopes exist on this instance")
    return scopes


def cache_lifetime(cache_control: str | None) -> int:
    """Seconds a document may be reused, from its Cache-Control header (RFC 9111 §5.2.2).

    no-store / no-cache → 0 (refetch every time it is needed); max-age capped at
    24 h; absent or unreadable → 5 minutes."""
    if not cache_control:
        return DEFAULT_CACHE_SECONDS
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0
    for directive in directives:
        match = _MAX_AGE.fullmatch(directive)
        if match:
            return min(int(match.group(1)), MAX_CACHE_SECONDS)
    return DEFAULT_CACHE_SECONDS
