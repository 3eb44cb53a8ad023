"""Grants (token families), access and refresh tokens, authorization codes.

Only SHA-256 digests of codes and tokens are stored, so a leaked database
opens nothing. A grant is a token family: revoking it ends every token in it.
"""
from __future__ import annotations

from .. import clock
from .db import Transaction


async def revoke_user_grants(tx: Transaction, user_id: int) -> int:
    """End every app's access for a user (e.g. after a password change)."""
    return await tx.execute("UPDATE grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                            (clock.now(), user_id))
