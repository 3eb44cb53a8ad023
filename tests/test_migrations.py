"""Forward-only SQL migrations tracked per owner (gancio_like/storage/migrate.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from gancio_like.storage import migrate
from gancio_like.storage.db import Database
from gancio_like.storage.migrate import MigrationError, core_folder, read_folder


@pytest.fixture
def fresh_db(io_loop, tmp_path):
    database = io_loop.run_sync(lambda: Database(tmp_path / "fync.db").open())
    yield database
    io_loop.run_sync(database.close)


@pytest.fixture
def folder(tmp_path):
    """A folder of the test plugin's own migrations."""
    path = tmp_path / "testplugin"
    path.mkdir()
    return path


def write(folder: Path, name: str, sql: str) -> Path:
    path = folder / name
    path.write_text(sql, encoding="utf-8")
    return path


def core():
    return read_folder("core", core_folder())


def plugin(folder: Path, owner: str = "testplugin"):
    return read_folder(owner, folder)


async def tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r["name"] for r in rows}


async def recorded(db: Database) -> set[tuple[str, str]]:
    rows = await db.fetchall("SELECT owner, name FROM schema_migrations")
    return {(r["owner"], r["name"]) for r in rows}


# -- core ---------------------------------------------------------------------------------


def test_core_folder_has_ordered_migrations():
    names = [m.name for m in core()]
    assert names and names == sorted(names)
    assert names[0].startswith("0001_")


def test_core_migrations_are_found_through_the_package_in_both_dialects():
    import gancio_like.migrations
    assert core_folder() == Path(gancio_like.migrations.__file__).parent
    sqlite, postgresql = migrate.read_core("sqlite"), migrate.read_core("postgresql")
    assert [m.name for m in sqlite] == [m.name for m in postgresql]
    assert all(a.sql != b.sql for a, b in zip(sqlite, postgresql))  # each has its PostgreSQL version


def test_no_core_migrations_is_an_error_naming_the_folder(monkeypatch):
    monkeypatch.setattr(migrate, "CORE_PACKAGE", "gancio_like.static")  # a folder without .sql files
    with pytest.raises(MigrationError, match=r"no core migrations in .*gancio_like/static: .*reinstall"):
        migrate.read_core()
    monkeypatch.setattr(migrate, "CORE_PACKAGE", "gancio_like.nowhere")
    with pytest.raises(MigrationError, match="package gancio_like.nowhere is not installed"):
        migrate.read_core()


@pytest.mark.gen_test
async def test_core_migrations_apply_to_an_empty_database(fresh_db):
    done = await migrate.apply(fresh_db, core())
    assert [m.name for m in done] == [m.name for m in core()]
    assert {"users", "user_interests", "sessions", "schema_migrations"} <= await tables(fresh_db)
    assert await recorded(fresh_db) == {("core", m.name) for m in core()}


@pytest.mark.gen_test
async def test_rerun_is_a_no_op(fresh_db):
    await migrate.apply(fresh_db, core())
    before = await fresh_db.fetchall("SELECT owner, name, checksum, applied_at FROM schema_migrations")
    assert await migrate.apply(fresh_db, core()) == []
    assert await migrate.pending(fresh_db, core()) == []
    after = await fresh_db.fetchall("SELECT owner, name, checksum, applied_at FROM schema_migrations")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]


@pytest.mark.gen_test
async def test_pending_lists_without_applying(fresh_db):
    assert [m.name for m in await migrate.pending(fresh_db, core())] == [m.name for m in core()]
    assert "users" not in await tables(fresh_db)


@pytest.mark.gen_test
async def test_journal_mode_is_wal_and_foreign_keys_on(fresh_db):
    assert (await fresh_db.fetchval("PRAGMA journal_mode")).lower() == "wal"
    assert await fresh_db.fetchval("PRAGMA foreign_keys") == 1
    async with fresh_db.transaction() as tx:  # the writer connection too
        assert (await tx.fetchone("PRAGMA foreign_keys"))[0] == 1


@pytest.mark.gen_test
async def test_foreign_keys_are_enforced(fresh_db):
    await migrate.apply(fresh_db, core())
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await fresh_db.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
                               "VALUES (x'00', 999, 0, 1)")


# -- plugin folders ------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_plugin_migrations_apply_in_order(fresh_db, folder):
    write(folder, "0002_more.sql", "ALTER TABLE tp_items ADD COLUMN label TEXT;")
    write(folder, "0001_init.sql", "CREATE TABLE tp_items (id INTEGER PRIMARY KEY);")
    done = await migrate.apply(fresh_db, plugin(folder))
    assert [m.name for m in done] == ["0001_init.sql", "0002_more.sql"]
    await fresh_db.execute("INSERT INTO tp_items (label) VALUES ('ok')")


@pytest.mark.gen_test
async def test_new_file_is_applied_later(fresh_db, folder):
    write(folder, "0001_init.sql", "CREATE TABLE tp_items (id INTEGER PRIMARY KEY);")
    await migrate.apply(fresh_db, plugin(folder))
    write(folder, "0002_more.sql", "CREATE TABLE tp_more (id INTEGER PRIMARY KEY);")
    done = await migrate.apply(fresh_db, plugin(folder))
    assert [m.name for m in done] == ["0002_more.sql"]


@pytest.mark.gen_test
async def test_edited_applied_file_is_refused_naming_it(fresh_db, folder):
    path = write(folder, "0001_init.sql", "CREATE TABLE tp_items (id INTEGER PRIMARY KEY);")
    await migrate.apply(fresh_db, plugin(folder))
    path.write_text("CREATE TABLE tp_items (id INTEGER PRIMARY KEY, extra TEXT);")
    with pytest.raises(MigrationError, match="0001_init.sql") as info:
        await migrate.apply(fresh_db, plugin(folder))
    assert "testplugin" in str(info.value)
    with pytest.raises(MigrationError, match="0001_init.sql"):
        await migrate.pending(fresh_db, plugin(folder))


@pytest.mark.gen_test
async def test_failing_migration_leaves_nothing_half_applied(fresh_db, folder):
    write(folder, "0001_broken.sql", "CREATE TABLE tp_first (id INTEGER PRIMARY KEY);\n"
                                     "INSERT INTO no_such_table VALUES (1);\n")
    with pytest.raises(MigrationError, match="0001_broken.sql"):
        await migrate.apply(fresh_db, plugin(folder))
    assert "tp_first" not in await tables(fresh_db)
    assert await recorded(fresh_db) == set()


@pytest.mark.gen_test
async def test_failure_keeps_earlier_migrations_and_the_database_usable(fresh_db, folder):
    write(folder, "0001_good.sql", "CREATE TABLE tp_good (id INTEGER PRIMARY KEY);")
    write(folder, "0002_bad.sql", "CREATE TABLE tp_bad (id INTEGER PRIMARY KEY);\nSELEC 1;")
    with pytest.raises(MigrationError, match="0002_bad.sql"):
        await migrate.apply(fresh_db, plugin(folder))
    assert await recorded(fresh_db) == {("testplugin", "0001_good.sql")}
    assert "tp_bad" not in await tables(fresh_db)
    await fresh_db.execute("INSERT INTO tp_good DEFAULT VALUES")  # no transaction left open


@pytest.mark.parametrize("sql", [
    "CREATE TABLE tp_first (id INTEGER PRIMARY KEY);\nCOMMIT;\nCREATE TABLE tp_second (",
    "BEGIN;\nCREATE TABLE tp_first (id INTEGER PRIMARY KEY);\nCOMMIT;",
    "CREATE TABLE tp_first (id INTEGER PRIMARY KEY);\n/* never closed",
])
@pytest.mark.gen_test
async def test_migration_cannot_escape_its_transaction(fresh_db, folder, sql):
    """A file that ends the transaction itself (or swallows the bookkeeping) is refused whole."""
    write(folder, "0001_tricky.sql", sql)
    with pytest.raises(MigrationError, match="0001_tricky.sql"):
        await migrate.apply(fresh_db, plugin(folder))
    assert "tp_first" not in await tables(fresh_db)
    assert await recorded(fresh_db) == set()
    await fresh_db.execute("CREATE TABLE after (id INTEGER)")  # the writer is not stuck


@pytest.mark.gen_test
async def test_semicolons_in_strings_and_comments_are_fine(fresh_db, folder):
    write(folder, "0001_text.sql", "-- a comment; with a semicolon\n"
                                   "CREATE TABLE tp_t (v TEXT DEFAULT 'a;b');\n"
                                   "INSERT INTO tp_t DEFAULT VALUES; -- trailing comment")
    await migrate.apply(fresh_db, plugin(folder))
    assert await fresh_db.fetchval("SELECT v FROM tp_t") == "a;b"


@pytest.mark.gen_test
async def test_trigger_bodies_with_inner_semicolons_apply(fresh_db, folder):
    write(folder, "0001_trigger.sql", "CREATE TABLE tp_a (v INTEGER);\nCREATE TABLE tp_log (v INTEGER);\n"
                                      "CREATE TRIGGER tp_copy AFTER INSERT ON tp_a BEGIN\n"
                                      "  INSERT INTO tp_log VALUES (new.v);\n  INSERT INTO tp_log VALUES (-new.v);\nEND;\n")
    await migrate.apply(fresh_db, plugin(folder))
    await fresh_db.execute("INSERT INTO tp_a VALUES (7)")
    assert sorted(r[0] for r in await fresh_db.fetchall("SELECT v FROM tp_log")) == [-7, 7]


@pytest.mark.parametrize("name", ["1_init.sql", "0001-init.sql", "0001_Init.sql", "init.sql", "0001_.sql"])
def test_bad_file_name_is_refused(folder, name):
    write(folder, name, "SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        plugin(folder)


def test_other_files_are_ignored(folder):
    write(folder, "README.md", "notes")
    write(folder, "0001_init.sql", "SELECT 1;")
    assert [m.name for m in plugin(folder)] == ["0001_init.sql"]


def test_duplicate_number_is_refused(folder):
    write(folder, "0001_a.sql", "SELECT 1;")
    write(folder, "0001_b.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="0001"):
        plugin(folder)


@pytest.mark.gen_test
async def test_owners_are_tracked_separately(fresh_db, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    write(one, "0001_init.sql", "CREATE TABLE one_items (id INTEGER);")
    write(two, "0001_init.sql", "CREATE TABLE two_items (id INTEGER);")
    await migrate.apply(fresh_db, plugin(one, "testplugin"))
    done = await migrate.apply(fresh_db, plugin(two, "otherplugin"))
    assert [(m.owner, m.name) for m in done] == [("otherplugin", "0001_init.sql")]
    assert {"one_items", "two_items"} <= await tables(fresh_db)
    assert await recorded(fresh_db) == {("testplugin", "0001_init.sql"), ("otherplugin", "0001_init.sql")}


@pytest.mark.gen_test
async def test_same_name_in_core_and_plugin_does_not_collide(fresh_db, folder):
    first_core = core()[0].name
    write(folder, first_core, "CREATE TABLE tp_items (id INTEGER);")
    await migrate.apply(fresh_db, core())
    done = await migrate.apply(fresh_db, core() + plugin(folder))
    assert [(m.owner, m.name) for m in done] == [("testplugin", first_core)]
