"""Grants (token families), access and refresh tokens, authorization codes,
pending authorization requests and remembered consent.

Only SHA-256 digests of codes and tokens are stored, so a leaked database
opens nothing. A grant is a token family: revoking it ends every token in it.
The records below are what the OAuth endpoints read; nobody else needs them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import clock
from ..models import AccessGrant
from ..notifications import TokenRevoked
from .db import Database, Transaction
from .users import USER_COLUMNS, user_with_interests


@dataclass(frozen=True)
class PendingRequest:
    """An authorization request the consent page showed, waiting for the user's answer."""
    client_pk: int
    user_id: int
    redirect_uri: str
    redirect_uri_sent: bool
    scope: str
    state: str | None
    code_challenge: str | None
    replace_existing: bool


@dataclass(frozen=True)
class AuthCode:
    """An authorization code as issued; `used_at` and `grant_id` once redeemed."""
    client_pk: int
    user_id: int
    redirect_uri: str
    redirect_uri_sent: bool
    scope: str
    code_challenge: str | None
    expires_at: int
    used_at: int | None
    grant_id: int | None


@dataclass(frozen=True)
class TokenRecord:
    """A token with its grant, client and user, whatever its state."""
    kind: str                 # access | refresh
    scope: str
    created_at: int
    expires_at: int | None
    spent_at: int | None
    revoked_at: int | None
    grant_id: int
    client_pk: int
    user_id: int
    grant_revoked_at: int | None
    grant_last_used_at: int | None
    client_id: str
    client_status: str
    username: str

    def is_live(self, now: int) -> bool:
        """Not revoked, not spent, not expired, its family and client still in good standing."""
        return (self.revoked_at is None and self.grant_revoked_at is None
                and self.spent_at is None and self.client_status == "active"
                and (self.expires_at is None or self.expires_at > now))


@dataclass(frozen=True)
class Authorization:
    """A live grant or a remembered consent of one user, with its client (/settings/apps)."""
    client_pk: int
    client_id: str
    name: str
    website: str
    scope: str
    created_at: int
    last_used_at: int | None  # None for a consent


# -- pending authorization requests (the consent page acts on these only) ---------


async def insert_request(tx: Transaction, id_hash: bytes, session_hash: bytes, client_pk: int,
                         user_id: int, redirect_uri: str, redirect_uri_sent: bool, scope: str,
                         state: str | None, code_challenge: str | None, replace_existing: bool,
                         expires_at: int) -> None:
    await tx.execute(
        "INSERT INTO authorization_requests (id_hash, session_hash, client_pk, user_id, redirect_uri, "
        "redirect_uri_sent, scope, state, code_challenge, replace_existing, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (id_hash, session_hash, client_pk, user_id, redirect_uri, int(redirect_uri_sent), scope,
         state, code_challenge, int(replace_existing), expires_at))


async def take_request(tx: Transaction, id_hash: bytes, session_hash: bytes) -> PendingRequest | None:
    """The request shown to this session, removed so it cannot be answered twice."""
    row = await tx.fetchone("SELECT client_pk, user_id, redirect_uri, redirect_uri_sent, scope, state, "
                            "code_challenge, replace_existing FROM authorization_requests "
                            "WHERE id_hash = ? AND session_hash = ? AND expires_at > ?",
                            (id_hash, session_hash, clock.now()))
    if row is None:
        return None
    await tx.execute("DELETE FROM authorization_requests WHERE id_hash = ?", (id_hash,))
    return PendingRequest(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], bool(row[7]))


# -- authorization codes -------------------------------------------------------------


async def insert_code(tx: Transaction, code_hash: bytes, client_pk: int, user_id: int,
                      redirect_uri: str, redirect_uri_sent: bool, scope: str,
                      code_challenge: str | None, expires_at: int) -> None:
    await tx.execute(
        "INSERT INTO authorization_codes (code_hash, client_pk, user_id, redirect_uri, "
        "redirect_uri_sent, scope, code_challenge, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (code_hash, client_pk, user_id, redirect_uri, int(redirect_uri_sent), scope,
         code_challenge, expires_at))


async def insert_code_on_consent(tx: Transaction, scopes: frozenset[str], code_hash: bytes, client_pk: int,
                                 user_id: int, redirect_uri: str, redirect_uri_sent: bool, scope: str,
                                 code_challenge: str | None, expires_at: int) -> bool:
    """Issue a code if the user's remembered consent to this client covers `scopes`:
    False (nothing written) if not. The consent row is held until COMMIT (see
    get_consent_for_code); on PostgreSQL check and insert are one statement."""
    if tx.dialect != "postgresql":
        if not scopes <= await get_consent(tx, user_id, client_pk):
            return False
        await insert_code(tx, code_hash, client_pk, user_id, redirect_uri, redirect_uri_sent, scope,
                          code_challenge, expires_at)
        return True
    return await tx.execute(
        "WITH c AS (SELECT 1 FROM consents WHERE user_id = ? AND client_pk = ? "
        "AND string_to_array(scope, ' ') @> ?::text[] FOR KEY SHARE) "
        "INSERT INTO authorization_codes (code_hash, client_pk, user_id, redirect_uri, redirect_uri_sent, "
        "scope, code_challenge, expires_at) SELECT ?, ?, ?, ?, ?, ?, ?, ? FROM c",
        (user_id, client_pk, sorted(scopes), code_hash, client_pk, user_id, redirect_uri, int(redirect_uri_sent),
         scope, code_challenge, expires_at)) == 1


async def get_code(tx: Transaction, code_hash: bytes) -> AuthCode | None:
    """The code, its row locked until COMMIT: what is read here decides whether it is
    spent or replayed, so a concurrent redemption (or revocation) waits for this one."""
    row = await tx.fetchone_locked("SELECT client_pk, user_id, redirect_uri, redirect_uri_sent, scope, code_challenge, "
                            "expires_at, used_at, grant_id FROM authorization_codes WHERE code_hash = ?",
                            (code_hash,))
    if row is None:
        return None
    return AuthCode(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7], row[8])


async def mark_code_used(tx: Transaction, code_hash: bytes, grant_id: int, now: int) -> bool:
    """Spend a code exactly once: False when another request spent it first."""
    changed = await tx.execute("UPDATE authorization_codes SET used_at = ?, grant_id = ? "
                               "WHERE code_hash = ? AND used_at IS NULL", (now, grant_id, code_hash))
    return changed == 1


# -- grants and tokens -----------------------------------------------------------------


async def insert_grant(tx: Transaction, client_pk: int, user_id: int, scope: str, now: int) -> int:
    return await tx.insert("INSERT INTO grants (client_pk, user_id, scope, created_at, last_used_at) "
                           "VALUES (?, ?, ?, ?, ?)", (client_pk, user_id, scope, now, now))


async def insert_token(tx: Transaction, token_hash: bytes, grant_id: int, kind: str, scope: str,
                       now: int, expires_at: int | None) -> None:
    await tx.execute("INSERT INTO tokens (token_hash, grant_id, kind, scope, created_at, expires_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (token_hash, grant_id, kind, scope, now, expires_at))


async def insert_token_pair(tx: Transaction, grant_id: int, now: int,
                            access: tuple[bytes, str, int | None], refresh: tuple[bytes, str, int | None]) -> None:
    """What every grant issues, (digest, scope, expires_at) each, in one statement: one
    statement less per token request (a round trip less on PostgreSQL)."""
    await tx.execute("INSERT INTO tokens (token_hash, grant_id, kind, scope, created_at, expires_at) "
                     "VALUES (?, ?, 'access', ?, ?, ?), (?, ?, 'refresh', ?, ?, ?)",
                     (access[0], grant_id, access[1], now, access[2], refresh[0], grant_id, refresh[1], now, refresh[2]))


Pair = tuple[bytes, str, "int | None"]  # a new token: (digest, scope, expires_at)

# PostgreSQL runs a grant's writes as one statement (data-modifying CTEs): one round
# trip instead of three. SQLite has no such CTEs, and its statements cost microseconds.
_PAIR = ("INSERT INTO tokens (token_hash, grant_id, kind, scope, created_at, expires_at) "
         "SELECT v.h, {grant}.id, v.kind, v.scope, ?, v.exp FROM {grant}, (VALUES (?::bytea, 'access', ?::text, "
         "?::bigint), (?::bytea, 'refresh', ?::text, ?::bigint)) AS v (h, kind, scope, exp)")
_REDEEM = ("WITH g AS (INSERT INTO grants (client_pk, user_id, scope, created_at, last_used_at) "
           "VALUES (?, ?, ?, ?, ?) RETURNING id), "
           "spent AS (UPDATE authorization_codes SET used_at = ?, grant_id = (SELECT id FROM g) "
           "WHERE code_hash = ? AND used_at IS NULL), "
           "pair AS (" + _PAIR.format(grant="g") + ") SELECT id FROM g")
_ROTATE = ("WITH spent AS (UPDATE tokens SET spent_at = ? WHERE token_hash = ? AND spent_at IS NULL "
           "RETURNING grant_id AS id) " + _PAIR.format(grant="spent"))


def _pair_params(now: int, access: Pair, refresh: Pair) -> tuple:
    return (now, access[0], access[1], access[2], refresh[0], refresh[1], refresh[2])


async def redeem_code(tx: Transaction, code_hash: bytes, client_pk: int, user_id: int, scope: str, now: int,
                      access: Pair, refresh: Pair) -> int:
    """A code read by get_code (its row locked) and found unused: the new grant, the
    code spent into it, the grant's first pair → the grant's id."""
    if tx.dialect == "postgresql":
        return await tx.fetchval(_REDEEM, (client_pk, user_id, scope, now, now, now, code_hash,
                                           *_pair_params(now, access, refresh)))
    grant_id = await insert_grant(tx, client_pk, user_id, scope, now)
    await mark_code_used(tx, code_hash, grant_id, now)
    await insert_token_pair(tx, grant_id, now, access, refresh)
    return grant_id


async def rotate_refresh(tx: Transaction, token_hash: bytes, grant_id: int, now: int,
                         access: Pair, refresh: Pair) -> bool:
    """Spend a refresh token exactly once and put the new pair in its family: False
    (and nothing written) when it was already spent, by an earlier request or by a
    concurrent one in another process since it was read."""
    if tx.dialect == "postgresql":
        return await tx.execute(_ROTATE, (now, token_hash, *_pair_params(now, access, refresh))) == 2
    if not await mark_token_spent(tx, token_hash, now):
        return False
    await insert_token_pair(tx, grant_id, now, access, refresh)
    return True


# The columns in TokenRecord's order.
_TOKEN_ROW = ("SELECT t.kind, t.scope, t.created_at, t.expires_at, t.spent_at, t.revoked_at, "
              "t.grant_id, g.client_pk, g.user_id, g.revoked_at, g.last_used_at, c.client_id, c.status, u.username "
              "FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN clients c ON c.id = g.client_pk "
              "JOIN users u ON u.id = g.user_id WHERE t.token_hash = ?")


async def get_token(db: Database | Transaction, token_hash: bytes) -> TokenRecord | None:
    """A token with its grant, client and user, whatever its state."""
    row = await db.fetchone(_TOKEN_ROW, (token_hash,))
    return None if row is None else TokenRecord(*row)


_BEARER = (f"SELECT t.scope, t.expires_at, t.grant_id, g.client_pk, c.client_id, {USER_COLUMNS} "
           "FROM tokens t JOIN grants g ON g.id = t.grant_id JOIN clients c ON c.id = g.client_pk "
           "JOIN users ON users.id = g.user_id "
           "WHERE t.token_hash = ? AND t.kind = 'access' AND t.revoked_at IS NULL "
           "AND g.revoked_at IS NULL AND c.status = 'active'")


async def get_access_grant(db: Database, token_hash: bytes, now: int) -> AccessGrant | None:
    """The bearer check: a live access token's grant and user.

    Served from memory after the first use. Every revocation, and every other
    write that may change what a token grants, empties the cache after its COMMIT
    (see storage/db.py), so a revoked token is refused on the very next request.
    Misses are not cached, so garbage tokens cannot fill memory."""
    cache = await db.fresh_cache("access")
    grant = cache.get(token_hash)
    if grant is None:
        epoch = cache.epoch
        row = await db.fetchone(_BEARER, (token_hash,))
        if row is None:
            return None
        grant = AccessGrant(row["id"], row["client_pk"], row["client_id"], row["grant_id"],
                            frozenset(row["scope"].split()), row["expires_at"], user_with_interests(row))
        cache.fill(token_hash, grant, epoch)
    if grant.expires_at is not None and grant.expires_at <= now:
        return None
    return grant


async def mark_token_spent(tx: Transaction, token_hash: bytes, now: int) -> bool:
    """Rotate a refresh token exactly once: False when it was already spent, by an
    earlier request or by a concurrent one in another process since it was read."""
    changed = await tx.execute("UPDATE tokens SET spent_at = ? WHERE token_hash = ? AND spent_at IS NULL",
                               (now, token_hash))
    return changed == 1


LAST_USED_PRECISION = 60  # seconds: /settings/apps shows "last used" to the minute


async def touch_grant(tx: Transaction, grant_id: int, now: int, last_used_at: int | None) -> None:
    """Record the grant's use, unless it was recorded within the last minute: nobody can
    see the difference, and an app refreshing often saves a statement per refresh."""
    if last_used_at is None or now - last_used_at >= LAST_USED_PRECISION:
        await tx.execute("UPDATE grants SET last_used_at = ? WHERE id = ?", (now, grant_id))


async def revoke_token(tx: Transaction, token_hash: bytes, reason: str = "revoked") -> None:
    changed = await tx.execute("UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                               (clock.now(), token_hash))
    tx.invalidate()
    if changed and tx.listens(TokenRevoked):
        row = await tx.fetchone("SELECT g.user_id, g.client_pk FROM tokens t JOIN grants g ON g.id = t.grant_id "
                                "WHERE t.token_hash = ?", (token_hash,))
        tx.notify(TokenRevoked, user_id=row["user_id"], client_pk=row["client_pk"], reason=reason)


async def revoke_grant(tx: Transaction, grant_id: int, reason: str = "revoked") -> None:
    """End one token family."""
    changed = await tx.execute("UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                               (clock.now(), grant_id))
    tx.invalidate()
    if changed and tx.listens(TokenRevoked):
        row = await tx.fetchone("SELECT user_id, client_pk FROM grants WHERE id = ?", (grant_id,))
        tx.notify(TokenRevoked, user_id=row["user_id"], client_pk=row["client_pk"], reason=reason)


async def revoke_user_grants(tx: Transaction, user_id: int, client_pk: int | None = None,
                             reason: str = "password_changed") -> int:
    """End a user's app access: for one client, or (password change) for all.
    Returns the number of grants revoked."""
    # Codes not yet redeemed go too: otherwise a code issued just before a password
    # change (or a "replace existing token") would still mint a fresh grant afterwards.
    client_filter, params = ("", ()) if client_pk is None else (" AND client_pk = ?", (client_pk,))
    if tx.ROW_LOCKS:  # codes issued on these consents right now commit first, and are deleted below
        await tx.fetchall_locked(f"SELECT 1 FROM consents WHERE user_id = ?{client_filter}", (user_id, *params))
    await tx.execute(f"DELETE FROM authorization_codes WHERE user_id = ? AND used_at IS NULL{client_filter}",
                     (user_id, *params))
    changed = await tx.execute(f"UPDATE grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL{client_filter}",
                               (clock.now(), user_id, *params))
    tx.invalidate()
    if changed:
        tx.notify(TokenRevoked, user_id=user_id, client_pk=client_pk, reason=reason)
    return changed


async def revoke_client_grants(tx: Transaction, client_pk: int, reason: str = "client_disabled") -> int:
    changed = await tx.execute("UPDATE grants SET revoked_at = ? WHERE client_pk = ? AND revoked_at IS NULL",
                               (clock.now(), client_pk))
    tx.invalidate()
    if changed:
        tx.notify(TokenRevoked, user_id=None, client_pk=client_pk, reason=reason)
    return changed


async def delete_expired(tx: Transaction, now: int) -> int:
    """Housekeeping: codes, requests and tokens that can never be used again."""
    removed = await tx.execute("DELETE FROM authorization_codes WHERE expires_at <= ?", (now - 86400,))
    removed += await tx.execute("DELETE FROM authorization_requests WHERE expires_at <= ?", (now,))
    removed += await tx.execute("DELETE FROM tokens WHERE expires_at <= ?", (now - 86400,))
    return removed


# -- remembered consent ------------------------------------------------------------------


async def get_consent(db: Database | Transaction, user_id: int, client_pk: int) -> frozenset[str]:
    scope = await db.fetchval("SELECT scope FROM consents WHERE user_id = ? AND client_pk = ?",
                              (user_id, client_pk))
    return frozenset((scope or "").split())


async def get_consent_for_code(tx: Transaction, user_id: int, client_pk: int) -> frozenset[str]:
    """The consent a code is about to be issued on, its row held (FOR KEY SHARE) until
    COMMIT: a withdrawal or a revocation of the user's grants (which lock it first, see
    revoke_user_grants) waits for the code, then sees it, or the code waits for them."""
    row = await tx.fetchone_locked("SELECT scope FROM consents WHERE user_id = ? AND client_pk = ?",
                                   (user_id, client_pk), mode="KEY SHARE")
    return frozenset((row[0] if row else "").split())


async def upsert_consent(tx: Transaction, user_id: int, client_pk: int, scope: str, now: int) -> None:
    await tx.execute(
        "INSERT INTO consents (user_id, client_pk, scope, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (user_id, client_pk) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
        (user_id, client_pk, scope, now, now))


async def delete_consent(tx: Transaction, user_id: int, client_pk: int | None = None) -> None:
    if client_pk is None:
        await tx.execute("DELETE FROM consents WHERE user_id = ?", (user_id,))
    else:
        await tx.execute("DELETE FROM consents WHERE user_id = ? AND client_pk = ?", (user_id, client_pk))


# -- what a user or an admin sees of grants (SPEC §2 /settings/apps, /admin) ---------------

# A grant can still act while it is unrevoked and holds an unspent, unexpired token.
_LIVE_GRANT = ("g.revoked_at IS NULL AND EXISTS (SELECT 1 FROM tokens t WHERE t.grant_id = g.id "
               "AND t.revoked_at IS NULL AND t.spent_at IS NULL "
               "AND (t.expires_at IS NULL OR t.expires_at > ?))")


async def count_live_grants_by_client(db: Database, now: int) -> dict[int, int]:
    """client_pk → how many grants can still act for it."""
    rows = await db.fetchall(f"SELECT g.client_pk, count(*) FROM grants g WHERE {_LIVE_GRANT} "
                             "GROUP BY g.client_pk", (now,))
    return {row[0]: row[1] for row in rows}


async def list_user_authorizations(db: Database, user_id: int, now: int) -> list[Authorization]:
    """One per live grant and per remembered consent of this user, with its client."""
    rows = await db.fetchall(
        "SELECT c.id AS client_pk, c.client_id, c.name, c.website, a.scope, a.created_at, a.last_used_at "
        f"FROM (SELECT g.client_pk, g.scope, g.created_at, g.last_used_at FROM grants g "
        f"WHERE g.user_id = ? AND {_LIVE_GRANT} "
        "UNION ALL SELECT client_pk, scope, created_at, NULL FROM consents WHERE user_id = ?) a "
        "JOIN clients c ON c.id = a.client_pk ORDER BY c.name, c.id", (user_id, now, user_id))
    return [Authorization(*row) for row in rows]
