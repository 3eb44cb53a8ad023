"""`fync` — the command line (SPEC §1). Every command exits non-zero with a
one-line reason on error, and `--help` works at every level."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import asyncio
import getpass
import logging
import os
import sqlite3
import sys
from pathlib import Path

from . import __version__
from .config import Config, ConfigError, load_config
from .errors import FyncError
from .storage.db import StorageUnavailable
from .storage.migrate import MigrationError


class CommandError(Exception):
    """A command cannot do what was asked; the message says why and what to do."""


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="F", help="config file (default: $FYNC_CONFIG, then ./fync.toml)")
    _version_arg(p)


def _version_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", action="version", version=f"fync {__version__}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fync", description="Fync: a self-hostable community server.")
    _version_arg(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="migrate if needed, then serve",
                       description="Migrate if needed, then serve: one process, or several with --workers "
                                   "(PostgreSQL only).")
    _config_args(p)
    p.add_argument("--host", help="address to listen on")
    p.add_argument("--port", type=int, help="port to listen on")
    p.add_argument("--data-dir", metavar="D", help="folder for the database and secret key")
    p.add_argument("--public-url", metavar="U", help="the issuer; base of every absolute URL")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes serving on one port (1-64; more than 1 needs [database] url on PostgreSQL)")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("migrate", help="apply pending migrations", description="Apply pending migrations (core and plugins).")
    _config_args(p)
    p.add_argument("--check", action="store_true", help="apply nothing; exit 1 if any are pending")
    p.set_defaults(run=cmd_migrate)

    p = sub.add_parser("user", help="manage accounts", description="Manage accounts.")
    _version_arg(p)
    users = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = users.add_parser("add", help="create an account", description="Create an account.")
    _config_args(q)
    q.add_argument("name")
    q.add_argument("--admin", action="store_true", help="make the account an admin")
    q.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    q.set_defaults(run=cmd_user_add)
    q = users.add_parser("list", help="list accounts", description="List accounts.")
    _config_args(q)
    q.set_defaults(run=cmd_user_list)
    q = users.add_parser("passwd", help="set an account's password", description="Set an account's password (ends its sessions and app grants).")
    _config_args(q)
    q.add_argument("name")
    q.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    q.set_defaults(run=cmd_user_passwd)

    p = sub.add_parser("client", help="moderate registered apps", description="Moderate registered OAuth clients (apps) by client_id.")
    _version_arg(p)
    clients = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = clients.add_parser("list", help="list registered apps", description="List every registered app with its status and owner.")
    _config_args(q)
    q.set_defaults(run=cmd_client_list)
    for action, text in (("approve", "let an app waiting for approval (or disabled) be used"),
                         ("disable", "disable an app and revoke every token it holds"),
                         ("delete", "delete an app with its tokens and consents")):
        q = clients.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        _config_args(q)
        q.add_argument("client_id", metavar="ID")
        q.set_defaults(run=cmd_client_action, action=action)

    p = sub.add_parser("plugins", help="list discovered plugins", description="List discovered plugins, enabled or not.")
    _config_args(p)
    p.set_defaults(run=cmd_plugins)

    p = sub.add_parser("backup", help="consistent online copy of the database", description="Write a consistent copy of the database (SQLite backup API), safe while serving.")
    _config_args(p)
    p.add_argument("file", type=Path)
    p.set_defaults(run=cmd_backup)
    _ops_parsers(sub)
    _db_parsers(sub)
    _client_parsers(sub)
    return parser


def _db_parsers(sub) -> None:
    """`db copy`: moving an instance to PostgreSQL (docs/deploy.md, "Moving to PostgreSQL")."""
    p = sub.add_parser("db", help="move the database to PostgreSQL", description="Move the instance's database.")
    _version_arg(p)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser(
        "copy", help="copy the SQLite database into an empty PostgreSQL database",
        description="Copy every table (core and plugins) of the instance's SQLite database into an empty "
                    "PostgreSQL database: applies the PostgreSQL migrations, copies the rows in one "
                    "transaction, resets the id sequences and checks the row counts. Reads one consistent "
                    "snapshot and writes nothing to the SQLite file; stop the instance first so that no "
                    "later write is left behind. On any error the target is left unchanged.")
    _config_args(q)
    q.add_argument("--to", required=True, metavar="URL",
                   help="the empty target database: postgresql://USER:PASSWORD@HOST[:PORT]/NAME")
    q.set_defaults(run=cmd_db_copy)


def _ops_parsers(sub) -> None:
    """`restore`, `stats`, `doctor`: running an instance (docs/deploy.md)."""
    p = sub.add_parser("restore", help="replace the database with a backup",
                       description="Replace the database with a backup from `fync backup`. Checks the backup's "
                                   "integrity first, refuses while an instance has the database open, and keeps "
                                   "the previous database beside it as fync.db.before-restore-TIME.")
    _config_args(p)
    p.add_argument("file", type=Path)
    p.set_defaults(run=cmd_restore)
    p = sub.add_parser("stats", help="count users, clients, tokens and queued deliveries",
                       description="Count users, clients, active tokens, sessions and queued federation deliveries.")
    _config_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts and monitors)")
    p.set_defaults(run=cmd_stats)
    p = sub.add_parser("doctor", help="check the setup and say what to fix",
                       description="Check the config, public_url (scheme, and reachability from this box), the data "
                                   "folder's permissions, pending migrations and the clock; say what to fix. "
                                   "Exits 1 if a check fails.")
    _config_args(p)
    p.add_argument("--offline", action="store_true", help="skip the checks that use the network")
    p.add_argument("--time-url", metavar="URL",
                   help="an HTTPS server whose Date header the clock is compared with (default: a Debian mirror)")
    p.set_defaults(run=cmd_doctor)


def _client_parsers(sub) -> None:
    """`login`, `whoami`, `logout` (SPEC §8): the client side, which needs no server config."""
    p = sub.add_parser("login", help="log in to a Fync instance from this terminal",
                       description="Log in to a Fync instance: opens (or prints) a browser URL and waits for "
                                   "the answer on a loopback port (RFC 8252). FYNC_NO_BROWSER=1 only prints it.")
    _version_arg(p)
    p.add_argument("domain", metavar="DOMAIN", help="example.org, https://example.org/ or @you@example.org")
    p.add_argument("--scope", default="profile", metavar="S", help="space-separated scopes (default: profile)")
    p.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                   help="how long to wait for the browser (default: 300)")
    p.set_defaults(run=cmd_login, client_side=True)
    p = sub.add_parser("whoami", help="show who you are logged in as", description="Print /api/me at an instance you logged in to.")
    _version_arg(p)
    p.add_argument("domain", metavar="DOMAIN")
    p.set_defaults(run=cmd_whoami, client_side=True)
    p = sub.add_parser("logout", help="log out of an instance", description="Revoke this terminal's login at an instance and forget it.")
    _version_arg(p)
    p.add_argument("domain", metavar="DOMAIN")
    p.set_defaults(run=cmd_logout, client_side=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = None if getattr(args, "client_side", False) else load_config(args.config, overrides=_overrides(args))
        outcome = args.run(cfg, args)  # a coroutine, or (`serve`, which may fork first) the exit code
        return (asyncio.run(outcome) if asyncio.iscoroutine(outcome) else outcome) or 0
    except (ConfigError, MigrationError, CommandError, FyncError, StorageUnavailable,
            sqlite3.Error, OSError) as exc:
        print(f"fync: error: {_describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _describe(exc: Exception) -> str:
    if isinstance(exc, FyncError):
        return exc.description
    if isinstance(exc, sqlite3.Error):
        return f"database: {exc}"
    return " ".join(str(exc).split())  # one line, whatever the message


def _overrides(args) -> dict:
    return {("server", "host"): getattr(args, "host", None),
            ("server", "port"): getattr(args, "port", None),
            ("server", "data_dir"): getattr(args, "data_dir", None),
            ("server", "public_url"): getattr(args, "public_url", None),
            ("server", "workers"): getattr(args, "workers", None)}


def cmd_serve(cfg: Config, args) -> int:
    """Not a coroutine: with several workers the parent forks, which must happen before
    any event loop exists."""
    from .app import serve
    if cfg.server.workers > 1:
        from .workers import serve_workers
        return serve_workers(cfg)
    asyncio.run(serve(cfg))
    return 0


@contextlib.asynccontextmanager
async def _database(cfg: Config):
    """The instance's database, migrated (plugins' too), closed when the command ends."""
    from .app import open_instance
    db, _ = await open_instance(cfg)
    try:
        yield db
    finally:
        await db.close()


async def cmd_migrate(cfg: Config, args) -> int:
    from .plugins import PluginHost
    from .storage import migrate
    from .storage.engine import database_for, describe, dialect
    migrations = PluginHost.load(cfg).migrations(dialect(cfg))  # before the database is created
    db = await database_for(cfg).open()
    try:
        if args.check:
            todo = await migrate.pending(db, migrations)
            for m in todo:
                print(f"pending: {m.owner} {m.name}")
            print(f"{len(todo)} pending migration(s)")
            return 1 if todo else 0
        done = await migrate.apply(db, migrations)
        for m in done:
            print(f"applied: {m.owner} {m.name}")
        print(f"{len(done)} migration(s) applied; database {describe(cfg)} is current")
        return 0
    finally:
        await db.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise CommandError("the two passwords differ; nothing was changed")
    return first


async def cmd_user_add(cfg: Config, args) -> int:
    from .services.accounts import Passwords, check_username, create_user
    check_username(args.name)  # before asking for a password
    password = _read_password(args.password_stdin)
    async with _database(cfg) as db:
        await create_user(db, Passwords(), args.name, password, admin=args.admin)
    print(f"created user {args.name}")
    return 0


async def cmd_user_list(cfg: Config, args) -> int:
    from .storage.users import list_users
    async with _database(cfg) as db:
        for user in await list_users(db):
            print(f"{user.username}\t{'admin' if user.is_admin else 'user'}\t{user.display_name}")
    return 0


async def cmd_user_passwd(cfg: Config, args) -> int:
    from .services.accounts import Passwords, set_password
    from .storage.users import get_user_by_name
    password = _read_password(args.password_stdin)
    async with _database(cfg) as db:
        user = await get_user_by_name(db, args.name)
        if user is None:
            raise CommandError(f"no user named {args.name!r}; see `fync user list`")
        await set_password(db, Passwords(), user.id, password)
    print(f"password changed for {args.name}; their sessions and app grants ended")
    return 0


async def cmd_client_list(cfg: Config, args) -> int:
    from .storage.clients import list_clients
    from .storage.users import list_users
    async with _database(cfg) as db:
        owners = {u.id: u.username for u in await list_users(db)}
        for c in await list_clients(db):
            print(f"{c.client_id}\t{c.status}\t{c.source}\t{owners.get(c.owner_id, '-')}\t{c.name}")
    return 0


async def cmd_client_action(cfg: Config, args) -> int:
    from .services import moderation
    async with _database(cfg) as db:
        if args.action == "approve":
            await moderation.approve(db, args.client_id)
            print(f"approved {args.client_id}")
        elif args.action == "disable":
            ended = await moderation.disable(db, args.client_id)
            print(f"disabled {args.client_id}; revoked {ended} grant(s)")
        else:
            await moderation.delete(db, args.client_id)
            print(f"deleted {args.client_id}")
    return 0


async def cmd_plugins(cfg: Config, args) -> int:
    """Each discovered plugin, loaded on its own so one broken plugin hides no other."""
    from .plugins import PluginError, PluginHost, discover
    enabled = set(cfg.plugins.enabled)
    for name in sorted(discover(cfg)):
        print(f"{name}\t{'enabled' if name in enabled else 'disabled'}")
        only = dataclasses.replace(cfg, plugins=dataclasses.replace(cfg.plugins, enabled=[name]))
        try:
            info = PluginHost.load(only).describe()[name]
        except PluginError as exc:
            print(f"  cannot load: {exc}")
            continue
        for scope, description in info["scopes"].items():
            print(f"  scope  {scope}\t{description}")
        for pattern, methods in info["routes"]:
            declared = ", ".join(f"{m} {s}" for m, s in methods.items())
            print(f"  route  {pattern}\t{declared}")
    return 0


def _refuse_on_postgres(cfg: Config, what: str, instead: str) -> None:
    from .storage.engine import describe, is_postgres
    if is_postgres(cfg):
        raise CommandError(f"{what} works on SQLite files; this instance uses {describe(cfg)}: {instead}")


async def cmd_backup(cfg: Config, args) -> int:
    _refuse_on_postgres(cfg, "fync backup", "use pg_dump (see docs/deploy.md)")
    if args.file.exists():
        raise CommandError(f"{args.file} exists; choose a new file name")
    if not args.file.parent.is_dir():
        raise CommandError(f"folder {args.file.parent} does not exist; create it first")
    # Private from its first byte, whatever the umask: a backup holds password hashes.
    os.close(os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        async with _database(cfg) as db:
            await db.backup_to(args.file)
    except BaseException:
        args.file.unlink(missing_ok=True)
        raise
    print(f"backed up {cfg.database_path} to {args.file}")
    return 0


async def cmd_restore(cfg: Config, args) -> int:
    _refuse_on_postgres(cfg, "fync restore", "use pg_restore or psql (see docs/deploy.md)")
    from .storage.restore import RestoreError, restore
    try:
        kept = restore(args.file, cfg.database_path)
    except RestoreError as exc:
        raise CommandError(str(exc)) from None
    print(f"restored {args.file} to {cfg.database_path}")
    if kept is not None:
        print(f"the previous database is kept as {kept}")
    pending = await _pending(cfg)
    if pending:
        print(f"{len(pending)} migration(s) pending: run `fync migrate`, or start fync (it migrates)")
    return 0


async def _pending(cfg: Config) -> list:
    """The migrations this version would apply, read without applying or writing anything."""
    from .plugins import PluginHost
    from .services.ops import pending_migrations
    from .storage.engine import database_for
    from .storage.stats import list_applied_migrations
    db = await database_for(cfg).open(read_only=True)
    try:
        return pending_migrations(await list_applied_migrations(db), PluginHost.load(cfg).migrations(db.dialect))
    finally:
        await db.close()


async def cmd_stats(cfg: Config, args) -> int:
    import json
    from .services import ops
    from .storage.engine import database_for, is_postgres
    if not is_postgres(cfg) and not cfg.database_path.exists():
        raise CommandError(f"no database at {cfg.database_path}; start fync once or run `fync migrate`")
    db = await database_for(cfg).open(read_only=True)
    try:
        counts = await ops.stats(db)
    finally:
        await db.close()
    if args.json:
        print(json.dumps(counts))
        return 0
    for name, value in counts.items():
        print(f"{name:<24}{value}")
    return 0


async def cmd_doctor(cfg: Config, args) -> int:
    from .plugins import PluginHost
    from .services import doctor
    from .storage.engine import dialect
    config_file = args.config or os.environ.get("FYNC_CONFIG") or ("fync.toml" if Path("fync.toml").exists() else None)
    logging.getLogger("tornado.general").setLevel(logging.ERROR)  # a failed fetch is a check's verdict
    try:
        migrations = PluginHost.load(cfg).migrations(dialect(cfg))
    except MigrationError as exc:  # no core migrations: a failed check among the others
        migrations = exc
    checks = await doctor.run(cfg, config_file, migrations, args.offline, args.time_url or doctor.TIME_URL)
    for check in checks:
        print(f"{check.status if check.status == 'ok' else check.status.upper():<6}{check.name:<17}{check.detail}")
        if check.fix:
            print(f"{'':23}fix: {check.fix}")
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    print(f"{failed} problem(s), {warned} warning(s)" if failed or warned else "all good")
    return 1 if failed else 0


async def cmd_db_copy(cfg: Config, args) -> int:
    import json
    from .plugins import PluginHost
    from .storage.copy import CopyError, copy_to_postgres
    from .storage.engine import describe, is_postgres
    from .storage.pg import redact
    if is_postgres(cfg):
        raise CommandError(f"the configured database is already PostgreSQL ({describe(cfg)}); "
                           "`fync db copy` copies an instance's SQLite database")
    plugins = PluginHost.load(cfg)
    try:
        copied = await copy_to_postgres(cfg.database_path, args.to, plugins.migrations("sqlite"),
                                        plugins.migrations("postgresql"))
    except CopyError as exc:
        raise CommandError(str(exc)) from None
    target = redact(args.to)
    print(f"copied {cfg.database_path} to {target}")
    for item in copied:
        print(f"  {item.table:<28}{item.rows:>10} row(s)")
    print(f"{sum(i.rows for i in copied)} row(s) in {len(copied)} table(s); row counts match")
    if target != args.to:
        print("put the password back in place of *** (or set FYNC_DATABASE_URL instead)")
    print("to run the instance on it, put this in fync.toml:\n")
    print(f"[database]\nurl = {json.dumps(target)}")
    return 0


# -- the client side (SPEC §8) --------------------------------------------------------------------


def _client_app():
    from .client import App, CredentialStore, default_path
    return App("Fync command line", CredentialStore(default_path()))


def _client_errors(command):
    """Library errors → one-line CommandErrors; an ended login says how to start again."""
    async def run(cfg, args) -> int:
        from .client import ClientError, LoginExpired, NotLoggedIn
        try:
            return await command(cfg, args)
        except (NotLoggedIn, LoginExpired) as exc:
            raise CommandError(f"{exc}; run: fync login {args.domain}") from None
        except ClientError as exc:
            raise CommandError(str(exc)) from None
    return run


def browser_available(env=None) -> bool:
    """Open a browser only for a person at a desktop: not in CI or tests, not when told not to,
    and on X11/Wayland systems only with a display (else `webbrowser` may start a text browser)."""
    env = os.environ if env is None else env
    if env.get("FYNC_NO_BROWSER", "") not in ("", "0") or env.get("CI") or env.get("PYTEST_CURRENT_TEST"):
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def _show_login_url(url: str) -> None:
    print(f"Open this URL in your browser to log in:\n\n  {url}\n", flush=True)
    if browser_available():
        import webbrowser
        webbrowser.open(url)
    print("Waiting for the browser... (Ctrl-C to stop)", flush=True)


@_client_errors
async def cmd_login(cfg, args) -> int:
    if args.timeout <= 0:
        raise CommandError("--timeout must be a positive number of seconds")
    app = _client_app()
    session = await app.login(args.domain, args.scope, on_url=_show_login_url, timeout=args.timeout)
    user = app.user(session.domain)
    who = f" as {user['username']}" if user else f" (scope: {session.tokens.scope}; no profile scope to show who)"
    print(f"logged in to {session.domain}{who}")
    return 0


@_client_errors
async def cmd_whoami(cfg, args) -> int:
    import json
    me = await _client_app().session(args.domain).get("/api/me")
    print(json.dumps(me, indent=2, ensure_ascii=False))
    return 0


@_client_errors
async def cmd_logout(cfg, args) -> int:
    domain = await _client_app().logout(args.domain)
    print(f"logged out of {domain}")
    return 0
