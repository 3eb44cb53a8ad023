"""Finding the client a request names: a registered `client_id`, or (SPEC §3)
an https URL naming a Client ID Metadata Document."""
from __future__ import annotations

from ..models import Client
from ..storage import clients as client_store
from .cimd import find_cimd_client, is_metadata_url
from .context import OAuthContext

MAX_CLIENT_ID = 2000


async def find_client(ctx: OAuthContext, client_id: str | None) -> Client | None:
    if not client_id or len(client_id) > MAX_CLIENT_ID:
        return None
    if is_metadata_url(client_id):
        return await find_cimd_client(ctx, client_id)
    return await client_store.get_client(ctx.db, client_id)
