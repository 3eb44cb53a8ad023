"""config → `make_app(cfg, db)` → serve. The one place the pieces are wired together."""
from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import time
from pathlib import Path

import tornado.ioloop
import tornado.netutil
import tornado.web

from . import __version__, accesslog, keyfiles, net, webpush
from .background import Background
from .config import Config, ConfigError
from .federation import Federation
from .handlers import routes, sections
from .handlers.base import load_catalogs
from .handlers.feeds import Validators
from .httpguard import MAX_HEADER_SIZE, GuardedHTTPServer
from .mail import Mailer
from .oauth.context import OAuthContext
from .pagination import Cursors
from .plugin_host import PluginHost
from .proxies import TrustedProxies
from .scopes import ScopeRegistry
from .services import avatars, housekeeping, password_reset
from .services.accounts import Passwords
from .services.apps import Reveals
from .notification_types import NotificationTypes
from .services.push_delivery import Push, Sender
from .services.throttle import throttle_for
from .storage import migrate
from .storage.db import Database
from .storage.engine import database_for, dialect, is_postgres
from .storage.engine import describe as describe_database

log = logging.getLogger("fync")
STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
SHUTDOWN_GRACE = 8  # seconds in-flight requests get after SIGTERM
BODY_TIMEOUT = 30  # seconds a request body may take to arrive, once its headers have


class FyncApplication(tornado.web.Application):
    """A Tornado application that also carries the instance's shared state."""

    def __init__(self, cfg: Config, db: Database, plugins: PluginHost, secret: str, vapid_key):
        self.cfg, self.db, self.plugins = cfg, db, plugins
        self.passwords = Passwords()
        window = 60
        self.login_throttle = throttle_for(db, "login", cfg.security.login_failures_per_minute, window)
        self.registration_throttle = throttle_for(db, "register", cfg.oauth.registrations_per_hour_per_ip, 3600)
        self.reset_throttle = throttle_for(db, "reset", password_reset.REQUESTS_PER_HOUR_PER_IP, 3600)
        self.in_flight = 0
        self.migrations = plugins.migrations(db.dialect)  # what this code expects; /health compares against it
        self.scopes = ScopeRegistry()
        plugins.add_scopes(self.scopes)
        self.oauth = OAuthContext(cfg, db, self.scopes, net.fetch_json)
        self.cursors = Cursors(secret)
        self.reveals = Reveals(db)  # secrets shown once on the portal, sealed in the db for any worker
        self.avatars = avatars.Avatars(db, cfg.federation.enabled, cfg.federation.allow_private_addresses)
        self.mailer = Mailer(cfg.mail)
        self.background = Background()  # work a request starts but does not wait for (mail)
        # SPEC §6: services reach federation through their db; serve() runs its delivery worker.
        self.federation = db.federation = Federation(cfg, db)
        self.proxies = TrustedProxies(cfg.server.trusted_proxies)
        self.feed_validators = Validators()  # per application, so one test's feeds never date another's
        self.notification_types = NotificationTypes()
        plugins.add_notification_types(self.notification_types)
        self.push = Push(db, push_sender(cfg, vapid_key, self.notification_types))  # serve() runs its worker
        load_catalogs()  # the pages' languages (handlers/base.py)
        super().__init__(
            routes.build(plugins, self.scopes),
            cookie_secret=secret,
            xsrf_cookies=True,
            xsrf_cookie_kwargs={"httponly": True, "samesite": "Lax", "secure": self.secure},
            template_path=str(TEMPLATES),
            ui_methods={"current": sections.current},  # the header's aria-current
            static_path=str(STATIC),
            login_url="/login",
            default_handler_class=routes.NotFoundHandler,
            log_function=accesslog.log_request,
            compress_response=False,
        )

    def find_handler(self, request, **kwargs):
        """Every request passes here first: believe X-Forwarded-* only from a listed proxy."""
        self.proxies.apply(request)
        return super().find_handler(request, **kwargs)

    @property
    def secure(self) -> bool:
        return self.cfg.server.public_url.startswith("https://")


def load_secret(data_dir: Path) -> str:
    """The instance's cookie secret, made once and kept in data/secret.key (0600)."""
    return keyfiles.read_or_create(data_dir / "secret.key",
                                   lambda: (secrets.token_hex(32) + "\n").encode()).decode().strip()


def push_sender(cfg: Config, key, types: NotificationTypes) -> Sender:
    return Sender(key, webpush.subject_for(cfg.push.contact, cfg.issuer), cfg, types)


async def open_instance(cfg: Config) -> tuple[Database, PluginHost]:
    """Load plugins, open the database and apply every pending migration. Without its
    migrations (a broken install) fync stops before it creates or opens anything."""
    plugins = PluginHost.load(cfg)
    migrations = plugins.migrations(dialect(cfg))
    db = await database_for(cfg).open()
    try:
        await migrate.apply(db, migrations)
    except Exception:
        await db.close()
        raise
    db.wanted, db.dispatch = plugins.wanted(), plugins.notify
    return db, plugins


async def make_app(cfg: Config, db: Database, plugins: PluginHost) -> FyncApplication:
    app = FyncApplication(cfg, db, plugins, load_secret(cfg.data_dir), webpush.load_key(cfg.data_dir))
    await plugins.startup(app)
    return app


def make_server(app: FyncApplication) -> GuardedHTTPServer:
    """The HTTP server with the limits hostile clients meet (SECURITY-CHECKLIST (b))."""
    server = app.cfg.server
    return GuardedHTTPServer(
        app, body_limit=server.max_body_size, max_header_size=MAX_HEADER_SIZE,
        larger_bodies={"/settings": avatars.UPLOAD_BODY_LIMIT},  # an avatar upload, there only
        # Tornado's header timeout is `idle_connection_timeout or 3600`: 0 must not mean an hour.
        # A body may take as long as an idle connection may wait, BODY_TIMEOUT at most.
        idle_connection_timeout=max(1, server.idle_timeout),
        body_timeout=min(BODY_TIMEOUT, max(1, server.idle_timeout)))


def listen_sockets(cfg: Config) -> list:
    """Bind the listening socket(s). On PostgreSQL with SO_REUSEPORT, so several `fync serve`
    processes (systemd's fync@ units, docs/deploy.md) may share one port; on SQLite without,
    so a second process on the port fails: its caches and its one writer live in one process."""
    try:
        return tornado.netutil.bind_sockets(cfg.server.port, cfg.server.host, reuse_port=is_postgres(cfg))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {cfg.server.host}:{cfg.server.port} ({exc.strerror}); "
                          "choose another --port or stop what is using it") from exc


async def serve(cfg: Config) -> None:
    """Serve until SIGTERM/SIGINT, then let in-flight requests finish and close the DB.
    The database is closed on every way out: an open SQLite connection's thread would
    otherwise keep the process alive after a startup error (a plugin clash, a port in use)."""
    db, plugins = await open_instance(cfg)
    try:
        app = await make_app(cfg, db, plugins)
        await serve_until_stopped(app, listen_sockets(cfg))
        await db.checkpoint()
    finally:
        await db.close()
    log.info("stopped")


async def serve_until_stopped(app: FyncApplication, sockets: list) -> None:
    server = make_server(app)
    # Before anyone can learn that we serve: a signal right after the startup lines
    # must already mean "stop gracefully", not Python's KeyboardInterrupt.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server.add_sockets(sockets)
    print_startup(app.cfg, app.plugins)
    # These jobs may run in every process: the sweep only deletes expired rows, and
    # deliveries (activities, pushes) are claimed row by row in the database, so none goes out twice.
    sweeper = tornado.ioloop.PeriodicCallback(lambda: housekeeping.sweep(app.db), housekeeping.INTERVAL * 1000)
    sweeper.start()
    app.federation.start()
    app.push.start()
    await stop.wait()
    log.info("stopping: no new connections; finishing %d request(s)", server.busy())
    server.stop()
    sweeper.stop()
    await _finish_requests(server)
    await app.background.drain(SHUTDOWN_GRACE)
    await app.federation.stop()
    await app.push.stop()
    await app.plugins.shutdown(app)
    await server.close_all_connections()


async def _finish_requests(server: GuardedHTTPServer) -> None:
    deadline = time.monotonic() + SHUTDOWN_GRACE
    while server.busy() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if server.busy():
        log.warning("stopping with %d request(s) unfinished after %ds", server.busy(), SHUTDOWN_GRACE)


def print_startup(cfg: Config, plugins: PluginHost) -> None:
    names = ", ".join(plugins.names()) or "none"
    print(f"Fync {__version__} serving {cfg.instance.name!r} at http://{cfg.server.host}:{cfg.server.port}/",
          flush=True)
    print(f"  public URL: {cfg.server.public_url}", flush=True)
    print(f"  database:   {describe_database(cfg)}", flush=True)
    print(f"  plugins:    {names}", flush=True)
