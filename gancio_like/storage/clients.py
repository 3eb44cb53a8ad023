"""Registered OAuth clients (SPEC §3)."""
from __future__ import annotations

import json

from ..models import Client
from .db import Database, Transaction
from .store import Row

_COLUMNS = ("id, client_id, name, description, website, redirect_uris, scopes, auth_method, "
            "source, status, owner_id, created_at, secret_hash, registration_token_hash")


def _client(row: Row) -> Client:
    return Client(row["id"], row["client_id"], row["name"], row["description"], row["website"],
                  tuple(json.loads(row["redirect_uris"])), frozenset(row["scopes"].split()),
                  row["auth_method"], row["source"], row["status"], row["owner_id"],
                  row["created_at"], row["secret_hash"], row["registration_token_hash"])


async def insert_client(tx: Transaction, *, client_id: str, secret_hash: bytes | None,
                        registration_token_hash: bytes | None, name: str, description: str,
                        website: str, redirect_uris: list[str], scopes: str, auth_method: str,
                        source: str, status: str, owner_id: int | None, registered_ip: str | None,
                        now: int) -> int:
    return await tx.insert(
        "INSERT INTO clients (client_id, secret_hash, registration_token_hash, name, description, "
        "website, redirect_uris, scopes, auth_method, source, status, owner_id, registered_ip, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (client_id, secret_hash, registration_token_hash, name, description, website,
         json.dumps(redirect_uris), scopes, auth_method, source, status, owner_id, registered_ip, now))


async def get_client(db: Database | Transaction, client_id: str) -> Client | None:
    """A client by its client_id; outside a transaction from a cache that every
    committed change to clients empties (storage/db.py)."""
    if isinstance(db, Transaction):
        return await _load_client(db, client_id)
    cache = await db.fresh_cache("clients")
    client = cache.get(client_id)
    if client is None:
        epoch = cache.epoch
        client = await _load_client(db, client_id)
        if client is not None:
            cache.fill(client_id, client, epoch)
    return client


async def _load_client(db: Database | Transaction, client_id: str) -> Client | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM clients WHERE client_id = ?", (client_id,))
    return None if row is None else _client(row)


async def get_client_by_pk(db: Database | Transaction, pk: int) -> Client | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM clients WHERE id = ?", (pk,))
    return None if row is None else _client(row)


async def update_client(tx: Transaction, pk: int, *, name: str, description: str, website: str,
                        redirect_uris: list[str], scopes: str) -> None:
    await tx.execute("UPDATE clients SET name = ?, description = ?, website = ?, redirect_uris = ?, "
                     "scopes = ? WHERE id = ?",
                     (name, description, website, json.dumps(redirect_uris), scopes, pk))


async def update_secret_hash(tx: Transaction, pk: int, secret_hash: bytes | None) -> None:
    await tx.execute("UPDATE clients SET secret_hash = ? WHERE id = ?", (secret_hash, pk))


async def update_status(tx: Transaction, pk: int, status: str) -> None:
    await tx.execute("UPDATE clients SET status = ? WHERE id = ?", (status, pk))


async def delete_client(tx: Transaction, pk: int) -> None:
    await tx.execute("DELETE FROM clients WHERE id = ?", (pk,))


async def list_clients(db: Database, owner_id: int | None = None) -> list[Client]:
    if owner_id is None:
        rows = await db.fetchall(f"SELECT {_COLUMNS} FROM clients ORDER BY created_at DESC, id DESC")
    else:
        rows = await db.fetchall(f"SELECT {_COLUMNS} FROM clients WHERE owner_id = ? "
                                 "ORDER BY created_at DESC, id DESC", (owner_id,))
    return [_client(r) for r in rows]


# -- Client ID Metadata Documents (SPEC §3): rows keyed by the document's URL --------


async def get_cimd_client(db: Database | Transaction, client_id: str) -> tuple[Client, int | None] | None:
    """The cached CIMD client for this URL and when its metadata goes stale."""
    row = await db.fetchone(f"SELECT {_COLUMNS}, metadata_expires_at FROM clients "
                            "WHERE client_id = ? AND source = 'cimd'", (client_id,))
    return None if row is None else (_client(row), row["metadata_expires_at"])


async def upsert_cimd_client(tx: Transaction, *, client_id: str, name: str, website: str,
                             redirect_uris: list[str], scopes: str, expires_at: int, now: int) -> None:
    """Insert or refresh a CIMD client from its fetched document.

    A refresh keeps `status` (an admin's `disable` survives refetches) and never
    touches a row of another source."""
    await tx.execute(
        "INSERT INTO clients (client_id, secret_hash, registration_token_hash, name, description, "
        "website, redirect_uris, scopes, auth_method, source, status, owner_id, registered_ip, "
        "metadata_expires_at, created_at) "
        "VALUES (?, NULL, NULL, ?, '', ?, ?, ?, 'none', 'cimd', 'active', NULL, NULL, ?, ?) "
        "ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, website = excluded.website, "
        "redirect_uris = excluded.redirect_uris, scopes = excluded.scopes, "
        "metadata_expires_at = excluded.metadata_expires_at WHERE clients.source = 'cimd'",
        (client_id, name, website, json.dumps(redirect_uris), scopes, expires_at, now))
