"""Apps as people see them (SPEC §2): the developer portal `/dev`, the apps a user
connected (`/settings/apps`) and the admins' overview (`/admin`).

Portal apps are checked by the same rules as open registration, so nothing can be
registered here that `POST /oauth/register` would refuse. With `registration =
"approval"` an admin approves every new app, portal ones included, unless an admin
created it.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
from ..storage import reveals as reveal_store
from ..storage import tokens as token_store
from ..storage import users as user_store
from ..storage.db import Database
from . import accounts

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


async def own_confidential_app(db: Database, owner: User, client_id: str) -> Client:
    """An app of `owner` that has a secret to replace."""
    client = await own_app(db, owner, client_id)
    if client.is_public:
        raise ValidationError("a public client has no secret")
    return client


async def new_secret(ctx: OAuthContext, owner: User, client_id: str) -> str:
    """Replace the secret: the old one stops working at once; issued tokens stay valid."""
    client = await own_confidential_app(ctx.db, owner, client_id)
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

    That GET may be served by another process (several `fync serve`), so the values wait
    in the database, per session and app, for a few minutes (kept in memory, two
    processes lost 81 reveals in 200: bench/README.md). The database holds
    no secret in clear (SPEC §3): they are sealed with AES-GCM under a key derived
    from the session's raw token, which only the user's own requests carry (the
    database stores its digest alone), so a copied database cannot open them.
    `take` deletes the row as it reads it: shown once, even to racing requests."""

    TTL = 600
    KDF_INFO = b"fync dev-portal reveal v1"

    def __init__(self, db: Database):
        self.db = db

    async def put(self, session_token: str, client_id: str, values: dict) -> None:
        now = clock.now()
        digest = accounts.session_hash(session_token)
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(self._key(session_token)).encrypt(
            nonce, json.dumps(values).encode(), self._aad(digest, client_id))

        async def body(tx):
            await reveal_store.put(tx, digest, client_id, sealed, now + self.TTL, now)
        await self.db.write(body)

    async def take(self, session_token: str, client_id: str) -> dict:
        """The values put for this session and app, once; {} if none, expired or unreadable."""
        digest = accounts.session_hash(session_token)
        now = clock.now()
        if not await reveal_store.pending(self.db, digest, client_id):
            return {}

        async def body(tx):
            return await reveal_store.take(tx, digest, client_id, now)
        sealed = await self.db.write(body)
        if sealed is None or len(sealed) < 12:
            return {}
        try:
            plain = AESGCM(self._key(session_token)).decrypt(sealed[:12], sealed[12:],
                                                              self._aad(digest, client_id))
        except InvalidTag:
            return {}
        return json.loads(plain)

    def _key(self, session_token: str) -> bytes:
        """HKDF-SHA256 of the raw token: the token is 256 random bits, so no slow KDF is needed,
        and its stored SHA-256 digest says nothing about this key."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=self.KDF_INFO).derive(session_token.encode())

    @staticmethod
    def _aad(digest: bytes, client_id: str) -> bytes:
        """Binds a sealed value to its row, so it cannot be moved to another app's."""
        return digest + client_id.encode()


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
    for auth in await token_store.list_user_authorizations(db, user_id, clock.now()):
        app = apps.setdefault(auth.client_pk, ConnectedApp(
            auth.client_id, auth.name, auth.website, set(), auth.created_at, None))
        app.scopes |= set(auth.scope.split())
        app.authorized_at = min(app.authorized_at, auth.created_at)
        if auth.last_used_at is not None:
            app.last_used_at = max(app.last_used_at or 0, auth.last_used_at)
    return list(apps.values())


async def connected_app(db: Database, user_id: int, client_id: str) -> ConnectedApp:
    """One app this user connected (what revoking it would end); NotFound if none."""
    for app in await connected_apps(db, user_id):
        if app.client_id == client_id:
            return app
    raise NotFound("app")


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
