"""Time `GET /feed/events.ics` with 10 000 upcoming events (issue 20: under 1 s, or cached).

    .venv/bin/python bench/feed_ics.py [--events 10000] [--database-url postgresql://…]

Makes a fresh instance in a temporary folder (SQLite, or a PostgreSQL database given by
URL), fills it with events in three zones with tags, serves it on a loopback port and
times, over real HTTP: the first build (nothing cached), rebuilds with every VEVENT
cached, a rebuild after one event changed, and a conditional GET answered 304.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from gancio_like import clock
from gancio_like.app import make_app, open_instance
from gancio_like.config import load_config
from gancio_like.services import events
from gancio_like.services.accounts import Passwords, create_user

ZONES = ("Europe/Rome", "Asia/Tokyo", "")


async def fill(db, owner: int, count: int) -> None:
    now = clock.now()

    async def insert(tx):
        await tx.executemany(
            "INSERT INTO events (owner_id, title, description, start_datetime, end_datetime, place_name, "
            "place_address, published, timezone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            [(owner, f"Event number {i}", "A description\nover two lines, with; punctuation", now + 3600 + i * 600,
              now + 7200 + i * 600, "The Cellar", "1 Via Roma, Bologna", ZONES[i % 3], now, now)
             for i in range(count)])
        await tx.executemany("INSERT INTO event_tags (event_id, tag) SELECT id, ? FROM events WHERE id % 2 = ?",
                             [("jazz", 0), ("music", 1)])
    async with db.transaction() as tx:
        await insert(tx)


async def timed(http, url: str, headers=None) -> tuple[float, object]:
    start = time.perf_counter()
    response = await http.fetch(url, headers=headers or {}, raise_error=False)
    return time.perf_counter() - start, response


async def main(count: int, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        sock = bind_sockets(0, "127.0.0.1")
        port = sock[0].getsockname()[1]
        overrides = {("server", "data_dir"): f"{folder}/data", ("server", "public_url"): f"http://127.0.0.1:{port}"}
        if database_url:
            overrides[("database", "url")] = database_url
        (Path(folder) / "fync.toml").write_text("")
        cfg = load_config(f"{folder}/fync.toml", env={}, overrides=overrides)
        inst = await open_instance(cfg)
        app, db = await make_app(inst), inst.db
        owner = await create_user(db, Passwords(), "bench", "correct horse battery")
        await fill(db, owner, count)
        HTTPServer(app).add_sockets(sock)
        http, url = AsyncHTTPClient(force_instance=True), f"http://127.0.0.1:{port}/feed/events.ics"
        cold, response = await timed(http, url)
        assert response.code == 200 and response.body.count(b"BEGIN:VEVENT") == count
        warm = [(await timed(http, url))[0] for _ in range(5)]
        await events.update_event(inst, count // 2, owner, {"title": "Changed"})
        one_changed, _ = await timed(http, url)
        not_modified = [(await timed(http, url, {"If-None-Match": response.headers["ETag"]}))[0] for _ in range(5)]
        print(f"{count} upcoming events, {len(response.body) / 1e6:.1f} MB of iCalendar, "
              f"{db.dialect}:")
        print(f"  first build (nothing cached): {cold:.2f} s")
        print(f"  cached VEVENTs:               {statistics.median(warm):.3f} s (median of 5)")
        print(f"  after one event changed:      {one_changed:.3f} s")
        print(f"  conditional GET (304):        {statistics.median(not_modified):.3f} s (median of 5; "
              "the feed is still built to be hashed)")
        http.close()
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.database_url))
