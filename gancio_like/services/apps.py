"""Apps as people see them (SPEC §2): the developer portal `/dev`, the apps a user
connected (`/settings/apps`) and the admins' overview (`/admin`).

Portal apps are checked by the same rules as open registration, so nothing can be
registered here that `POST /oauth/register` would refuse. With `registration =
"approval"` an admin approves every new app, portal ones included, unless an admin
created it.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from .. import clock
from ..errors import NotFound, ValidationError
from ..models import Client, User
from ..oauth import credentials, registration
from ..oauth import token as token_endpoint
from ..oauth.context import OAuthContext
from ..oauth.errors import OAuthError
from ..oauth.redirect_uris import validate_redirect_uris
from ..scopes import format_scope
from ..storage import clients as client_store
from ..storage import tokens as token_store
from ..storage import users as user_store
from ..storage.db import Database

CLIENT_TYPES = {"confidential": "client_secret_basic", "public": "none"}


@dataclass(frozen=True)
class AppFields:
    """A checked portal form."""
    name: str
    description: str
    website: str
    redirect_uris: list[str]
    scopes: frozenset[str]
    auth_method: str


def read_form(ctx: OAuthContext, *, name: str, description: str, website: str, redirect_uris: str,
              scopes: list[str], client_type: str) -> AppFields:
    """The form's fields through registration's own checks; any fault → ValidationError."""
    if client_type not in CLIENT_TYPES:
        raise ValidationError("client type must be confidential or public", "client_type")
    if len(description) > registration.MAX_TEXT:
        raise ValidationError(f"description: at most {registration.MAX_TEXT} characters", "description")
    try:
        return AppFields(registration.check_name(name), description.strip(),
                         registration.check_website(website.strip()),
                         validate_redirect_uris(redirect_uris.split()),
                         registration.check_scopes(ctx, " ".join(scopes), ""), CLIENT_TYPES[client_type])
    except OAuthError as exc:
        raise ValidationError(exc.description) from None


def client_type(client: Client) -> str:
    return "public" if client.is_public else "confidential"


# -- the developer portal --------------------------------------------------------------


async def create_app(ctx: OAuthContext, owner: User, fields: AppFields) -> tuple[Client, str | None]:
    """A new app owned by `owner` → (app, its secret: shown once, then only its digest remains)."""
    client, secret, _ = await registration.create(
        ctx, name=fields.name, redirect_uris=fields.redirect_uris, scopes=fields.scopes,
        website=fields.website, description=fields.description, auth_method=fields.auth_method,
        source="portal", owner_id=owner.id, trusted=owner.is_admin)
    return client, secret


async def own_app(db: Database, owner: User, client_id: str) -> Client:
    """The app, if `owner` owns it; anyone else's is as unknown as a missing one."""
    client = await client_store.get_client(db, client_id)
    if client is None or client.owner_id != owner.id:
        raise NotFound("app")
    return client


async def list_own_apps(db: Database, owner: User) -> list[Client]:
    return await client_store.list_clients(db, owner.id)


async def update_app(ctx: OAuthContext, client: Client, fields: AppFields) -> Client:
    """Save the edited fields of an app (`own_app` checked it is the caller's); the
    client type stays as registered (RFC 7592 does the same)."""
    async with ctx.db.transaction() as tx:
        await client_store.update_client(tx, client.pk, name=fields.name, description=fields.description,
                                         website=fields.website, redirect_uris=fields.redirect_uris,
                                         scopes=format_scope(fields.scopes))
        return await client_store.get_client_by_pk(tx, client.pk)


async def new_secret(ctx: OAuthContext, owner: User, client_id: str) -> str:
    """Replace the secret: the old one stops working at once; issued tokens stay valid."""
    client = await own_app(ctx.db, owner, client_id)
    if client.is_public:
        raise ValidationError("a public client has no secret")
    secret = credentials.new_token()
    async with ctx.db.transaction() as tx:
        await client_store.update_secret_hash(tx, client.pk, credentials.digest(secret))
    return secret


async def delete_app(ctx: OAuthContext, owner: User, client_id: str) -> None:
    await registration.delete(ctx, await own_app(ctx.db, owner, client_id))


async def mint_internal(ctx: OAuthContext, owner: User, client_id: str) -> dict:
    """Fyle's "internal app": a grant for the owner's own account with all the app's
    scopes, without the consent round trip (the owner is the one asking) → token body."""
    client = await own_app(ctx.db, owner, client_id)
    if client.status != "active":
        raise ValidationError("this app is not active (awaiting approval or disabled)")
    scope = format_scope(client.scopes)
    now = clock.now()
    async with ctx.db.transaction() as tx:
        grant_id = await token_store.insert_grant(tx, client.pk, owner.id, scope, now)
        return await token_endpoint.issue(ctx, tx, grant_id=grant_id, client_id=client.client_id,
                                          user_id=owner.id, access_scope=scope, refresh_scope=scope,
                                          now=now, grant_type="internal_app")


def authorization_url(ctx: OAuthContext, client: Client, redirect_uri: str, scopes: list[str],
                      state: str) -> str:
    """The URL an app sends a person to (SPEC §3 authorization endpoint)."""
    if redirect_uri not in client.redirect_uris:
        raise ValidationError("pick one of this app's redirect URIs", "redirect_uri")
    if not scopes or not set(scopes) <= client.scopes:
        raise ValidationError("tick at least one of this app's scopes", "scope")
    query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri,
             "scope": format_scope(scopes), "state": state.strip() or secrets.token_urlsafe(16)}
    return f"{ctx.issuer}/oauth/authorize?{urlencode(query)}"


def needs_pkce(ctx: OAuthContext, client: Client) -> bool:
    return client.is_public or ctx.cfg.oauth.require_pkce == "always"


class Reveals:
    """Credentials to show once, on the page a form POST redirects to.

    Kept in this process's memory only, per session and app, for a few minutes:
    the database holds nothing but digests (SPEC §3). Lost on restart; the owner
    then generates a new one."""

    TTL = 600

    def __init__(self):
        self._items: dict[tuple[bytes, str], tuple[float, dict]] = {}

    def put(self, session: bytes, client_id: str, values: dict) -> None:
        now = time.monotonic()
        self._items = {k: v for k, v in self._items.items() if v[0] > now}
        self._items[(session, client_id)] = (now + self.TTL, values)

    def take(self, session: bytes, client_id: str) -> dict:
        expires, values = self._items.pop((session, client_id), (0.0, {}))
        return values if expires > time.monotonic() else {}


# -- apps a user connected -----------------------------------------------------------


@dataclass
class ConnectedApp:
    client_id: str
    name: str
    website: str
    scopes: set[str]
    authorized_at: int
    last_used_at: int | None


async def connected_apps(db: Database, user_id: int) -> list[ConnectedApp]:
    """Apps holding a live grant or a remembered consent of this user, one entry each."""
    apps: dict[int, ConnectedApp] = {}
    for row in await token_store.list_user_authorizations(db, user_id, clock.now()):
        app = apps.setdefault(row["client_pk"], ConnectedApp(
            row["client_id"], row["name"], row["website"], set(), row["created_at"], None))
        app.scopes |= set(row["scope"].split())
        app.authorized_at = min(app.authorized_at, row["created_at"])
        if row["last_used_at"] is not None:
            app.last_used_at = max(app.last_used_at or 0, row["last_used_at"])
    return list(apps.values())


async def disconnect(db: Database, user_id: int, client_id: str) -> None:
    """End every token this user gave the app and forget the consent, so it must ask again."""
    client = await client_store.get_client(db, client_id)
    if client is None:
        raise NotFound("app")
    async with db.transaction() as tx:
        await token_store.revoke_user_grants(tx, user_id, client.pk, reason="revoked_by_user")
        await token_store.delete_consent(tx, user_id, client.pk)


async def disconnect_all(db: Database, user_id: int) -> None:
    async with db.transaction() as tx:
        await token_store.revoke_user_grants(tx, user_id, reason="revoked_by_user")
        await token_store.delete_consent(tx, user_id)


# -- the admins' overview ------------------------------------------------------------


@dataclass(frozen=True)
class ClientRow:
    client: Client
    owner: str | None
    live_grants: int


async def admin_overview(db: Database) -> tuple[list[ClientRow], list[User]]:
    """Every registered client (newest first) with owner and live grants, and every user."""
    users = await user_store.list_users(db)
    names = {user.id: user.username for user in users}
    counts = await token_store.count_live_grants_by_client(db, clock.now())
    rows = [ClientRow(c, names.get(c.owner_id), counts.get(c.pk, 0))
            for c in await client_store.list_clients(db)]
    return rows, users
