"""The `fync` console script (SPEC §1), run as a real subprocess against a tmp instance."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import argon2
import pytest
from tornado.testing import bind_unused_port

from gancio_like import __version__

FYNC = str(Path(sys.executable).with_name("fync"))
COMMANDS = [[], ["serve"], ["migrate"], ["user"], ["user", "add"], ["user", "list"],
            ["user", "passwd"], ["client"], ["client", "list"], ["client", "approve"],
            ["client", "disable"], ["client", "delete"], ["plugins"], ["backup"], ["db"], ["db", "copy"]]


@pytest.fixture
def instance(tmp_path):
    """A folder with a fync.toml whose data lives in ./data next to it."""
    (tmp_path / "fync.toml").write_text('[server]\ndata_dir = "data"\n[instance]\nname = "CLI test"\n')
    return tmp_path


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FYNC_")}
    env.update(extra)
    return env


def fync(instance: Path, *args: str, stdin: str = "", env: dict | None = None,
         config: bool = True) -> subprocess.CompletedProcess:
    """Run `fync ARGS --config instance/fync.toml` in the instance folder."""
    argv = [FYNC, *args] + (["--config", str(instance / "fync.toml")] if config else [])
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=instance, env=env or clean_env())


def add_user(instance: Path, name: str, password: str = "password one", *flags: str):
    return fync(instance, "user", "add", name, "--password-stdin", *flags, stdin=password + "\n")


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fync: error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def database(instance: Path) -> Path:
    return instance / "data" / "fync.db"


def query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def user_lines(instance: Path) -> list[list[str]]:
    result = fync(instance, "user", "list")
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


# -- help and version ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "fync")
def test_help_at_every_level(tmp_path, command):
    result = fync(tmp_path, *command, "--help", config=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: fync")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "fync")
def test_version_at_every_level(tmp_path, command):
    result = fync(tmp_path, *command, "--version", config=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"fync {__version__}"


def test_help_lists_the_commands(tmp_path):
    text = fync(tmp_path, "--help", config=False).stdout
    for name in ("serve", "migrate", "user", "plugins", "backup"):
        assert name in text


def test_help_lists_the_client_commands(tmp_path):
    text = fync(tmp_path, "--help", config=False).stdout
    assert "client" in text


def test_help_lists_the_login_commands(tmp_path):
    text = fync(tmp_path, "--help", config=False).stdout
    for name in ("login", "whoami", "logout"):
        assert name in text


def loaded_by(*argv: str) -> list[str]:
    """The command modules and heavy libraries `fync ARGV` imports (it exits on --help)."""
    code = (f"import json, sys\nfrom gancio_like.cli import main\ntry:\n    main({list(argv)!r})\n"
            "except SystemExit:\n    pass\nprint(json.dumps(sorted(m for m in sys.modules\n"
            "    if m.startswith(('gancio_like.cli.', 'tornado', 'asyncpg', 'argon2')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out.splitlines()[-1])


def test_help_loads_no_command_module():
    """`fync --help` lists the commands from their index: quick, whatever the commands need."""
    assert loaded_by("--help") == []


def test_a_command_loads_its_own_module_only():
    assert [m for m in loaded_by("migrate", "--help") if m.startswith("gancio_like.cli.")] == ["gancio_like.cli.migrate"]
    assert "gancio_like.cli.serve" not in loaded_by("user", "list", "--help")


def test_no_command_is_an_error(tmp_path):
    assert fync(tmp_path, config=False).returncode != 0


# -- users ----------------------------------------------------------------------------------------


def test_user_add_then_list_first_is_admin(instance):
    result = add_user(instance, "alice")
    assert result.returncode == 0, result.stderr
    assert "alice" in result.stdout
    add_user(instance, "bob")
    assert user_lines(instance) == [["alice", "admin", ""], ["bob", "user", ""]]


def test_user_add_admin_flag(instance):
    add_user(instance, "alice")
    add_user(instance, "bob", "password two", "--admin")
    assert [line[:2] for line in user_lines(instance)] == [["alice", "admin"], ["bob", "admin"]]


def test_user_add_stores_an_argon2id_hash(instance):
    add_user(instance, "alice", "password one")
    [(stored,)] = query(database(instance), "SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$") and argon2.PasswordHasher().verify(stored, "password one")


@pytest.mark.parametrize("name", ["Alice", "al ice", "a" * 31, "bad!"])
def test_user_add_bad_name(instance, name):
    assert_one_line_error(add_user(instance, name), "username")
    assert user_lines(instance) == []


def test_user_add_taken_name(instance):
    add_user(instance, "alice")
    assert_one_line_error(add_user(instance, "alice", "other password"), "taken")


def test_user_add_short_password(instance):
    assert_one_line_error(add_user(instance, "alice", "short"), "password")
    assert user_lines(instance) == []


def test_user_passwd_changes_the_password(instance):
    add_user(instance, "alice", "password one")
    result = fync(instance, "user", "passwd", "alice", "--password-stdin", stdin="password two\n")
    assert result.returncode == 0, result.stderr
    [(stored,)] = query(database(instance), "SELECT password_hash FROM users")
    assert argon2.PasswordHasher().verify(stored, "password two")
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        argon2.PasswordHasher().verify(stored, "password one")


def test_user_passwd_ends_sessions(instance):
    add_user(instance, "alice")
    with sqlite3.connect(database(instance)) as conn:
        conn.execute("INSERT INTO sessions VALUES (x'01', 1, 0, 9999999999)")
    fync(instance, "user", "passwd", "alice", "--password-stdin", stdin="password two\n")
    assert query(database(instance), "SELECT count(*) FROM sessions") == [(0,)]


def test_user_passwd_unknown_user(instance):
    add_user(instance, "alice")
    result = fync(instance, "user", "passwd", "nobody", "--password-stdin", stdin="password two\n")
    assert_one_line_error(result, "nobody")


def test_data_dir_from_environment(tmp_path):
    env = clean_env(FYNC_SERVER_DATA_DIR=str(tmp_path / "elsewhere"))
    assert fync(tmp_path, "user", "add", "alice", "--password-stdin", stdin="password one\n",
                env=env, config=False).returncode == 0
    assert (tmp_path / "elsewhere" / "fync.db").exists()


# -- migrate --------------------------------------------------------------------------------------


def test_migrate_check_on_a_fresh_database_reports_pending(instance):
    result = fync(instance, "migrate", "--check")
    assert result.returncode == 1
    assert "pending" in result.stdout
    assert ("users",) not in query(database(instance), "SELECT name FROM sqlite_master")


def test_migrate_then_check(instance):
    result = fync(instance, "migrate")
    assert result.returncode == 0, result.stderr
    assert "0001_accounts.sql" in result.stdout
    assert fync(instance, "migrate", "--check").returncode == 0
    again = fync(instance, "migrate")
    assert again.returncode == 0 and "0 migration(s) applied" in again.stdout


def test_migrate_refuses_an_edited_history(instance):
    fync(instance, "migrate")
    with sqlite3.connect(database(instance)) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE name = '0001_accounts.sql'")
    assert_one_line_error(fync(instance, "migrate", "--check"), "0001_accounts.sql")


# -- backup ---------------------------------------------------------------------------------------


def test_backup_copies_the_users(instance):
    add_user(instance, "alice")
    add_user(instance, "bob")
    target = instance / "backup.db"
    result = fync(instance, "backup", str(target))
    assert result.returncode == 0, result.stderr
    sql = "SELECT id, username, password_hash, is_admin FROM users ORDER BY id"
    assert query(target, sql) == query(database(instance), sql)
    assert len(query(target, sql)) == 2


def test_backup_refuses_an_existing_file(instance):
    add_user(instance, "alice")
    (instance / "taken.db").write_text("keep me")
    assert_one_line_error(fync(instance, "backup", str(instance / "taken.db")), "exists")
    assert (instance / "taken.db").read_text() == "keep me"


def test_backup_into_a_missing_folder(instance):
    add_user(instance, "alice")
    assert_one_line_error(fync(instance, "backup", str(instance / "no" / "such" / "b.db")))


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_backup_and_restore_on_postgresql_point_to_pg_dump(instance, command):
    """SPEC's `fync backup` is SQLite's backup API: on PostgreSQL it says what to use,
    before connecting anywhere, and writes no file."""
    env = clean_env(FYNC_DATABASE_URL="postgresql://fync:s3cret@127.0.0.1:1/fync")
    result = fync(instance, command, str(instance / "b.db"), env=env)
    assert_one_line_error(result, "pg_dump" if command == "backup" else "pg_restore")
    assert "s3cret" not in result.stderr and not (instance / "b.db").exists()


# -- configuration errors --------------------------------------------------------------------------


def test_bad_config_key_names_it(instance):
    (instance / "fync.toml").write_text("[server]\nprot = 8080\n")
    result = fync(instance, "user", "list")
    assert result.returncode == 1
    assert_one_line_error(result, "prot")


def test_bad_env_value_names_it(instance):
    result = fync(instance, "user", "list", env=clean_env(FYNC_SERVER_PORT="eighty"))
    assert result.returncode == 1
    assert_one_line_error(result, "FYNC_SERVER_PORT")


def test_missing_config_file(instance):
    assert_one_line_error(fync(instance, "user", "list", "--config", str(instance / "nope.toml"),
                               config=False), "nope.toml")


def test_unusable_data_dir(instance):
    (instance / "data").write_text("a file, not a folder")
    assert_one_line_error(fync(instance, "user", "list"))


# -- serve ----------------------------------------------------------------------------------------


def free_port() -> int:
    sock, port = bind_unused_port()
    sock.close()
    return port


def wait_for(path: Path, text: str, proc: subprocess.Popen, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not printed; exit={proc.poll()} out={content!r}")


@pytest.fixture
def serving(instance):
    """`fync serve` on a free port: (process, port, stdout so far)."""
    port = free_port()
    out, err = instance / "out.txt", instance / "err.txt"
    with out.open("w") as o, err.open("w") as e:
        proc = subprocess.Popen([FYNC, "serve", "--config", str(instance / "fync.toml"), "--port", str(port)],
                                stdout=o, stderr=e, cwd=instance, env=clean_env())
    try:
        yield proc, port, wait_for(out, "plugins:", proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_prints_where_it_is(instance, serving):
    proc, port, printed = serving
    assert f"http://127.0.0.1:{port}/" in printed
    assert str(database(instance).resolve()) in printed
    assert "plugins:" in printed
    assert f"public URL: http://127.0.0.1:{port}" in printed


def test_serve_answers_and_stops_on_sigterm(instance, serving):
    proc, port, _ = serving
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
        assert resp.status == 200 and b"CLI test" in resp.read()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert fync(instance, "migrate", "--check").returncode == 0  # it migrated on start


def test_serve_on_a_busy_port_fails_with_one_line(instance):
    sock, port = bind_unused_port()
    try:
        proc = subprocess.run([FYNC, "serve", "--config", str(instance / "fync.toml"), "--port", str(port)],
                              capture_output=True, text=True, timeout=8, cwd=instance, env=clean_env())
    except subprocess.TimeoutExpired:
        pytest.fail("fync serve hung after failing to listen")
    finally:
        sock.close()
    assert_one_line_error(proc, str(port))
