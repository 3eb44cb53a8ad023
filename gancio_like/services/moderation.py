"""Admins' control over registered apps (SPEC §1 `fync client …`, §2 `/admin`)."""
from __future__ import annotations

from ..errors import NotFound
from ..models import Client
from ..storage import clients as client_store
from ..storage import tokens as token_store
from ..storage.db import Database


async def find(db: Database, client_id: str) -> Client:
    client = await client_store.get_client(db, client_id)
    if client is None:
        raise NotFound(f"client {client_id!r}")
    return client


async def approve(db: Database, client_id: str) -> Client:
    client = await find(db, client_id)
    async with db.transaction() as tx:
        await client_store.update_status(tx, client.pk, "active")
    return client


async def disable(db: Database, client_id: str) -> int:
    """Disable an app and end every grant it holds; returns how many ended."""
    client = await find(db, client_id)
    async with db.transaction() as tx:
        await client_store.update_status(tx, client.pk, "disabled")
        return await token_store.revoke_client_grants(tx, client.pk)


async def delete(db: Database, client_id: str) -> None:
    """Remove an app with its grants, tokens and consents (ON DELETE CASCADE)."""
    client = await find(db, client_id)
    async with db.transaction() as tx:
        await client_store.delete_client(tx, client.pk)

