"""migrations/0013_event_federation.sql on both engines: the delivery queue that existed
keeps every row as it was (SQLite rebuilds the table to drop user_id's NOT NULL), and a
row may then have no user — signed by the instance's events actor."""
from __future__ import annotations

import pytest

from gancio_like.storage import migrate
from gancio_like.storage.engine import database_for, dialect

COLUMNS = ("id, user_id, recipient, inbox, activity, attempts, created_at, next_attempt_at, first_tried_at, "
           "last_error, delivered_at, gave_up_at, claimed_until")


@pytest.fixture
def bare_db(io_loop, cfg):
    db = io_loop.run_sync(lambda: database_for(cfg).open())
    yield db
    io_loop.run_sync(db.close)


@pytest.mark.gen_test
async def test_deliveries_keep_their_rows_and_may_have_no_user(bare_db, cfg):
    migrations = migrate.read_core(dialect(cfg))
    before = [m for m in migrations if m.name < "0013"]
    await migrate.apply(bare_db, before)
    await bare_db.execute("INSERT INTO users (username, password_hash, created_at) VALUES ('alice', 'x', 1)")
    user_id = await bare_db.fetchval("SELECT id FROM users")
    rows = [(7, user_id, "bob@b.example", "https://b.example/inbox", '{"type":"Follow"}', 2, 10, 20, 11,
             "HTTP 502", None, None, 99),
            (9, user_id, "carl@c.example", None, '{"type":"Undo"}', 1, 12, 12, 12, None, 13, None, None)]
    async with bare_db.transaction() as tx:
        for row in rows:
            await tx.execute(f"INSERT INTO deliveries ({COLUMNS}) VALUES ({', '.join('?' * 13)})", row)
    through = [m for m in migrations if m.name < "0014"]
    assert [m.name for m in await migrate.apply(bare_db, through)] == ["0013_event_federation.sql"]
    kept = await bare_db.fetchall(f"SELECT {COLUMNS} FROM deliveries ORDER BY id")
    assert [tuple(r) for r in kept] == rows
    await bare_db.execute("INSERT INTO deliveries (id, user_id, recipient, activity, created_at, next_attempt_at) "
                          "VALUES (10, NULL, 'dan@d.example', '{}', 30, 30)")
    assert await bare_db.fetchval("SELECT count(*) FROM deliveries WHERE user_id IS NULL") == 1
    await bare_db.execute("DELETE FROM users")  # a user's deliveries still go with them
    assert await bare_db.fetchval("SELECT count(*) FROM deliveries") == 1
