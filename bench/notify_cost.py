"""What notifications cost on the friend-request path (issue 18): time N friend requests
sent and cancelled through the service layer (services/friends.py, one transaction
each, as the API does), on whichever Fync this Python imports, on a fresh SQLite
file (or the PostgreSQL URL given). Nobody has a push subscription.

Run it with each build's own venv and compare (on a busy machine the fastest round is
the steadier figure):

    /tmp/base/.venv/bin/python bench/notify_cost.py             # before notifications
    .venv/bin/python bench/notify_cost.py                       # with them
    .venv/bin/python bench/notify_cost.py --drop-push-trigger   # with them, pushes never queued

The last two differ only by the trigger that queues pushes (migrations/0011_push.sql):
that difference is what push costs someone with no subscription. `--inserts` times the
notification INSERT alone, with and without that trigger, for a finer look.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import argon2

from gancio_like.app import open_instance
from gancio_like.config import load_config
from gancio_like.services import friends
from gancio_like.services.accounts import Passwords, create_user


async def run(count: int, rounds: int, drop_trigger: bool, url: str, inserts: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "fync.toml").write_text("")
        overrides = {("server", "data_dir"): f"{tmp}/data", ("federation", "enabled"): False}
        if url:
            overrides[("database", "url")] = url
        cfg = load_config(f"{tmp}/fync.toml", env={}, overrides=overrides)
        db, _ = await open_instance(cfg)
        try:
            if drop_trigger:
                await db.execute("DROP TRIGGER notifications_queue_pushes" + (" ON notifications" if url else ""))
            passwords = Passwords(argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
            alice = await create_user(db, passwords, "alice", "password one", "")
            await create_user(db, passwords, "bob", "password one", "")
            if inserts:
                measure, what = (lambda: notifications(db, alice, count)), "notifications inserted"
            else:
                measure, what = (lambda: pairs(db, cfg.domain, alice, count)), "friend requests sent and cancelled"
            await measure()  # warm-up
            per_round = [await measure() for _ in range(rounds)]
        finally:
            await db.close()
    print(f"{count} {what} a round, {rounds} rounds: µs each: "
          f"fastest round {min(per_round):.1f}, median {statistics.median(per_round):.1f}")


async def pairs(db, domain: str, sender: int, count: int) -> float:
    """Microseconds per request sent and cancelled, averaged over `count`."""
    started = time.perf_counter()
    for _ in range(count):
        request = await friends.send_request(db, domain, sender, "bob")
        await friends.cancel_request(db, domain, sender, request.id)
    return (time.perf_counter() - started) / count * 1e6


async def notifications(db, user_id: int, count: int) -> float:
    """Microseconds per notification row inserted, `count` in one transaction: the
    statement each notification adds, with (or without) the trigger that queues pushes."""
    async with db.transaction() as tx:
        started = time.perf_counter()
        for n in range(count):
            await tx.execute("INSERT INTO notifications (user_id, type, actor_acct, object_id, url, created_at) "
                             "VALUES (?, 'friend_request', 'bob@other.example', ?, '/friends', 0)", (user_id, n))
        return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per round")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--drop-push-trigger", action="store_true")
    parser.add_argument("--database-url", default="", help="a postgresql:// URL (an empty schema) instead of SQLite")
    parser.add_argument("--inserts", action="store_true", help="time bare notification inserts instead (not on "
                                                               "a build without notifications)")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rounds, args.drop_push_trigger, args.database_url, args.inserts))


if __name__ == "__main__":
    main()
