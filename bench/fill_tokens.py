"""Fill an instance's token tables through Fync's own storage layer.

    python bench/fill_tokens.py DATA_DIR --rows 1000000

Each filler "flow" is what a real login leaves behind — a grant, an access token,
a refresh token and a spent code — made with the same storage functions the
server uses (4 rows each). Creates the user `bench` (password `bench-password`)
and one client if they are missing, so `fync serve` on DATA_DIR is ready for
bench/growth.py.
"""
from __future__ import annotations

import argparse
import asyncio
import time

from gancio_like import clock, net
from gancio_like.app import open_instance
from gancio_like.config import load_config
from gancio_like.oauth import credentials
from gancio_like.oauth.context import OAuthContext
from gancio_like.oauth.registration import create
from gancio_like.scopes import ScopeRegistry
from gancio_like.services.accounts import Passwords, create_user
from gancio_like.storage import tokens
from gancio_like.storage.users import get_user_by_name

BATCH = 2000  # flows per transaction


async def ensure_user_and_client(cfg, db) -> tuple[int, int]:
    user = await get_user_by_name(db, "bench")
    user_id = user.id if user else await create_user(db, Passwords(), "bench", "bench-password")
    client, _, _ = await create(OAuthContext(cfg, db, ScopeRegistry(), net.fetch_json), name="filler",
                                redirect_uris=["https://filler.example/cb"], scopes=frozenset({"profile"}),
                                source="portal", owner_id=user_id, trusted=True)
    return user_id, client.pk


async def fill_batch(db, user_id: int, client_pk: int, flows: int) -> None:
    now = clock.now()
    async with db.transaction() as tx:
        for _ in range(flows):
            grant_id = await tokens.insert_grant(tx, client_pk, user_id, "profile", now)
            for kind, ttl in (("access", 3600), ("refresh", 31536000)):
                await tokens.insert_token(tx, credentials.digest(credentials.new_token()), grant_id, kind,
                                          "profile", now, now + ttl)
            code = credentials.digest(credentials.new_token())
            await tokens.insert_code(tx, code, client_pk, user_id, "https://filler.example/cb", True,
                                     "profile", None, now + 300)
            await tokens.mark_code_used(tx, code, grant_id, now)


async def main(data_dir: str, rows: int) -> None:
    cfg = load_config(None, env={}, overrides={("server", "data_dir"): data_dir,
                                                ("plugins", "enabled"): []})
    db, _ = await open_instance(cfg)
    try:
        user_id, client_pk = await ensure_user_and_client(cfg, db)
        flows, started = rows // 4, time.monotonic()
        for done in range(0, flows, BATCH):
            await fill_batch(db, user_id, client_pk, min(BATCH, flows - done))
        await db.checkpoint()
        total = await db.fetchval("SELECT (SELECT count(*) FROM tokens) + (SELECT count(*) FROM grants) "
                                  "+ (SELECT count(*) FROM authorization_codes)")
        print(f"{total} rows in the token tables after {time.monotonic() - started:.1f} s")
    finally:
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(main(args.data_dir, args.rows))
