"""`fync doctor`: what stands between this box and a working public instance, and what to do.

Each check returns `Check(name, status, detail, fix)`; status is "ok", "warn" (works,
but not as it should on a public instance), "fail" (broken) or "skip". Nothing here
writes: the database is only read, and only if it exists.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from .. import mail as smtp
from ..config import Config
from ..errors import FetchError
from ..net import is_loopback_host, probe
from ..storage import stats as stats_store
from ..storage.errors import StorageError
from ..storage.engine import database_for, describe, is_postgres
from ..storage.migrate import Migration, MigrationError
from . import ops

TIME_URL = "https://deb.debian.org/"  # any well-run HTTPS server's Date header will do
SKEW_WARN, SKEW_FAIL = 30, 300  # seconds; federation peers refuse a Date 5 minutes off (SPEC §6)
LOW_DISK, FULL_DISK = 512 << 20, 64 << 20
TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""


async def run(cfg: Config, config_file: str | None, migrations: list[Migration] | MigrationError,
              offline: bool = False, time_url: str = TIME_URL) -> list[Check]:
    """Every check, in order; `migrations` is what this code expects, or why it has none."""
    checks = [config(cfg, config_file), *public_url(cfg)]
    checks.append(Check("reachable", "skip", "--offline") if offline else await reachable(cfg))
    checks += data_dir(cfg)
    checks.append(await pending_migrations(cfg, migrations))
    skew = None if offline else await remote_skew(time_url)
    checks.append(clock(skew, await ntp_synchronized(), None if offline else time_url))
    checks.append(Check("mail", "skip", "--offline") if offline and cfg.mail.enabled else await mail(cfg))
    return checks


# -- configuration --------------------------------------------------------------------------------


def config(cfg: Config, config_file: str | None) -> Check:
    if config_file is None:
        return Check("config", "warn", "no config file: built-in defaults",
                     "copy fync.toml to /etc/fync/fync.toml, set public_url, and point FYNC_CONFIG at it")
    return Check("config", "ok", f"{Path(config_file).resolve()} is valid")


def public_url(cfg: Config) -> list[Check]:
    url, server = cfg.server.public_url, cfg.server
    host = urlsplit(url).hostname or ""
    checks = []
    if url.startswith("https://"):
        checks.append(Check("public_url", "ok", f"{url} (https)"))
    elif is_loopback_host(host):
        checks.append(Check("public_url", "warn", f"{url}: fine on this machine only",
                            'for a public instance, set [server] public_url = "https://your.domain"'))
    else:
        checks.append(Check("public_url", "fail", f"{url} is not https: logins and tokens would cross "
                            "the network in clear, and OAuth apps and federation peers expect https",
                            "put nginx with a certbot certificate in front (docs/deploy.md) and set "
                            'public_url = "https://' + (urlsplit(url).netloc or "your.domain") + '"'))
    if url.startswith("https://") and not is_loopback_host(server.host):
        checks.append(Check("listen", "warn", f"listening on {server.host}: plain http reachable "
                            "around the proxy", '[server] host = "127.0.0.1" (nginx connects there)'))
    if url.startswith("https://") and is_loopback_host(server.host) and not server.trusted_proxies:
        checks.append(Check("trusted_proxies", "warn", "behind a proxy every request seems to come from "
                            "it: logs and per-IP limits (login throttling) lump all clients together",
                            '[server] trusted_proxies = ["127.0.0.1", "::1"]'))
    if cfg.federation.allow_private_addresses and not is_loopback_host(host):
        checks.append(Check("federation", "fail", "allow_private_addresses = true lets anyone make this "
                            "server fetch addresses on its own network", "[federation] allow_private_addresses = false"))
    return checks


# -- reachability ---------------------------------------------------------------------------------


async def reachable(cfg: Config) -> Check:
    """GET public_url/health from this box, as a monitor (or a visitor) would."""
    url = cfg.issuer + "/health"
    try:
        code, headers, body = await probe(url, timeout=TIMEOUT)
    except ssl.SSLError as exc:
        return Check("reachable", "fail", f"{url}: TLS problem ({exc.reason or exc})",
                     "get a certificate (docs/deploy.md, step 8): certbot certonly --nginx -d "
                     + (urlsplit(url).hostname or "your.domain") + '; check with `certbot certificates`')
    except (OSError, FetchError) as exc:
        return Check("reachable", "fail", f"nothing answers at {url} ({exc})",
                     "start fync and nginx (systemctl status fync nginx); check the domain's DNS points "
                     "at this server and the firewall lets 80 and 443 in")
    return _judge_health(url, code, headers.get("Location"), body)


def _judge_health(url: str, code: int, location: str | None, body: bytes | None) -> Check:
    if code in (301, 302, 307, 308):
        return Check("reachable", "fail", f"{url} redirects to {location}",
                     "set [server] public_url to the address it redirects to")
    try:
        report = json.loads(body or b"")
    except ValueError:
        report = None
    if not isinstance(report, dict) or "status" not in report:
        return Check("reachable", "fail", f"something other than Fync answers at {url} (HTTP {code})",
                     "check nginx's server_name and proxy_pass (127.0.0.1 and Fync's port)")
    if code != 200:
        parts = ", ".join(f"{k}: {v}" for k, v in report.items() if k != "status")
        return Check("reachable", "fail", f"{url} answers 503 ({parts})",
                     "run `fync migrate` and restart fync; see `journalctl -u fync`")
    return Check("reachable", "ok", f"{url} answers: healthy")


# -- the data folder ------------------------------------------------------------------------------


def data_dir(cfg: Config) -> list[Check]:
    folder = cfg.data_dir.resolve()
    if not folder.exists():
        parent = next((p for p in folder.parents if p.exists()), Path("/"))
        if os.access(parent, os.W_OK | os.X_OK):
            return [Check("data_dir", "ok", f"{folder} does not exist yet; created at first start")]
        return [Check("data_dir", "fail", f"{folder} does not exist and {parent} is not writable",
                      f"sudo install -d -o fync -g fync -m 750 {folder}")]
    if not folder.is_dir():
        return [Check("data_dir", "fail", f"{folder} is not a folder", "set [server] data_dir to a folder")]
    return [_folder_access(folder), *_private_files(folder, None if is_postgres(cfg) else cfg.database_path), _free_space(folder)]


def _folder_access(folder: Path) -> Check:
    st = folder.stat()
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check("data_dir", "fail", f"{folder} is not writable by uid {os.geteuid()}",
                     f"run fync as the folder's owner (sudo -u fync fync ...), or chown -R fync: {folder}")
    if st.st_uid != os.geteuid():
        return Check("data_dir", "warn", f"{folder} belongs to uid {st.st_uid}, you are uid {os.geteuid()}: "
                     "files you create would not be the service's", "run fync commands as sudo -u fync fync ...")
    if st.st_mode & 0o007:
        return Check("data_dir", "warn", f"{folder} is open to other users (mode {st.st_mode & 0o777:o})",
                     f"chmod 750 {folder}")
    return Check("data_dir", "ok", f"{folder} is writable and private")


def _private_files(folder: Path, database: Path | None) -> list[Check]:
    checks = []
    for path, status, holds in ((folder / "secret.key", "fail", "signs cookies"),
                                (folder / "vapid.key", "fail", "signs Web Push messages"),
                                (database, "warn", "holds password hashes")):
        if path is not None and path.exists() and path.stat().st_mode & 0o077:
            checks.append(Check(path.name, status, f"{path} is open to other users "
                                f"(mode {path.stat().st_mode & 0o777:o}); it {holds}", f"chmod 600 {path}"))
    return checks


def _free_space(folder: Path) -> Check:
    free = shutil.disk_usage(folder).free
    text = f"{free / (1 << 30):.1f} GiB free on {folder}'s disk"
    if free < FULL_DISK:
        return Check("disk", "fail", text, "free some space: the database stops taking writes when full")
    if free < LOW_DISK:
        return Check("disk", "warn", text, "free some space, or move data_dir to a larger disk")
    return Check("disk", "ok", text)


# -- migrations -----------------------------------------------------------------------------------


async def pending_migrations(cfg: Config, migrations: list[Migration] | MigrationError) -> Check:
    if isinstance(migrations, MigrationError):
        return Check("migrations", "fail", str(migrations),
                     "reinstall fync (docs/deploy.md); it will not start without its core migrations")
    where = describe(cfg)
    if not is_postgres(cfg) and not cfg.database_path.exists():
        return Check("migrations", "ok", f"no database yet at {where}; created and migrated at first start")
    try:
        db = await database_for(cfg).open(read_only=True)
        try:
            applied = await stats_store.list_applied_migrations(db)
        finally:
            await db.close()
    except StorageError as exc:
        fix = ("check [database] url, and that PostgreSQL runs and lets this user in" if is_postgres(cfg)
               else "run doctor as the user fync runs as (e.g. `sudo -u fync fync doctor`)")
        return Check("migrations", "fail", f"cannot read {where}: {exc}", fix)
    behind = ops.pending_migrations(applied, migrations)
    edited = [m for m in behind if (m.owner, m.name) in applied]
    if edited:
        return Check("migrations", "fail", f"{edited[0].owner} {edited[0].name} differs from the one applied",
                     "reinstall the release you upgraded to; never edit a migration file")
    if behind:
        names = ", ".join(f"{m.owner} {m.name}" for m in behind)
        return Check("migrations", "warn", f"{len(behind)} pending: {names}",
                     "run `fync migrate` (fync serve also applies them when it starts)")
    return Check("migrations", "ok", f"{len(applied)} applied, none pending")


# -- the clock ------------------------------------------------------------------------------------


async def remote_skew(url: str) -> float | None:
    """This clock minus a web server's (its Date header), or None if it cannot be read."""
    start = time.time()
    try:
        _, headers, _ = await probe(url, method="HEAD", timeout=TIMEOUT)
        theirs = parsedate_to_datetime(headers["Date"]).timestamp()
    except (OSError, FetchError, KeyError, TypeError, ValueError):
        return None
    return (start + time.time()) / 2 - theirs


async def ntp_synchronized() -> bool | None:
    """systemd's verdict (timedatectl), or None without systemd."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "timedatectl", "show", "--property=NTPSynchronized", "--value",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        return None
    answer = out.decode().strip()
    return None if proc.returncode or answer not in ("yes", "no") else answer == "yes"


def clock(skew: float | None, synced: bool | None, time_url: str | None = TIME_URL) -> Check:
    fix = "sudo timedatectl set-ntp true (keeps the clock right with systemd-timesyncd)"
    if skew is not None and abs(skew) >= SKEW_FAIL:
        return Check("clock", "fail", f"{skew:+.0f} s off {time_url}: federation peers refuse signed "
                     "requests whose Date is 5 minutes off", fix)
    if skew is not None and abs(skew) > SKEW_WARN:
        return Check("clock", "warn", f"{skew:+.0f} s off {time_url}", fix)
    if synced is False:
        return Check("clock", "warn", "not synchronised by NTP (timedatectl)", fix)
    if skew is None and synced is None:
        return Check("clock", "warn", f"could not check: no Date from {time_url or '(--offline)'} "
                     "and no timedatectl", "allow outbound HTTPS, or pass --time-url URL of a server you trust")
    said = f"{skew:+.1f} s off {time_url}" if skew is not None else "no remote check"
    return Check("clock", "ok", said + ("; NTP synchronised" if synced else ""))


# -- mail -----------------------------------------------------------------------------------------


async def mail(cfg: Config, tls_context: ssl.SSLContext | None = None) -> Check:
    """Connect to the SMTP server as Fync would (EHLO, STARTTLS, login), send nothing.
    The password is never part of what is shown."""
    settings = cfg.mail
    if not settings.enabled:
        return Check("mail", "skip", "off ([mail] host is empty): people ask an admin to reset a password",
                     "set [mail] host, port, security, username, password and from to mail reset links")
    where = f"{settings.host}:{settings.port} ({settings.security})"
    try:
        await smtp.check(settings, tls_context)
    except smtp.MailError as exc:
        return Check("mail", "fail", f"{where}: {exc}", _mail_fix(settings, str(exc)))
    login = f", logged in as {settings.username}" if settings.username else ", no login"
    if settings.security == "none" and not is_loopback_host(settings.host):
        return Check("mail", "warn", f"{where}{login}, but mail and the SMTP password cross the network "
                     "in clear", '[mail] security = "starttls" (port 587) or "tls" (port 465)')
    return Check("mail", "ok", f"{where}: the server answers{login}")


def _mail_fix(settings, problem: str) -> str:
    if "login" in problem:
        return "check [mail] username and password (an app password, if the provider asks for one)"
    if "certificate" in problem.lower():
        return "the server's certificate is not trusted for this host name: check [mail] host"
    return (f"check [mail] host and port, and that this server may connect out to {settings.host}:{settings.port} "
            '(587 goes with security = "starttls", 465 with "tls")')
