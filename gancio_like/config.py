"""Configuration: `fync.toml` → one frozen dataclass tree (SPEC §1).

Precedence: built-in defaults < config file < `FYNC_<SECTION>_<KEY>` environment
variables < command-line flags. Every key is declared once, with its default and
a help line; an unknown key or a wrong type stops startup with a message naming it.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import tomllib
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .timezones import is_zone

DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


class ConfigError(Exception):
    """A configuration problem; the message names the key and says what to do."""


def _key(default, help: str, **metadata):
    """A config key: its default and one line of help (shown in fync.toml). `toml="from"`
    names a key that is no Python name; `secret=True` keeps its value out of reprs."""
    metadata = {"help": help, **metadata}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata, repr=not metadata.get("secret"))


def key_name(f: dataclasses.Field) -> str:
    """A field's name in fync.toml and FYNC_* variables."""
    return f.metadata.get("toml", f.name)


@dataclass(frozen=True)
class ServerConfig:
    host: str = _key("127.0.0.1", "address to listen on")
    port: int = _key(8080, "TCP port to listen on")
    public_url: str = _key("http://127.0.0.1:8080", "the issuer; base of every absolute URL")
    data_dir: str = _key("data", "database, secret key and other state")
    max_body_size: int = _key(1048576, "largest request body accepted, in bytes (then 413)")
    idle_timeout: int = _key(60, "seconds an idle keep-alive connection is kept open")
    trusted_proxies: list = _key([], "addresses or networks of reverse proxies whose "
                                     "X-Forwarded-For/-Proto are believed (default: none)")


@dataclass(frozen=True)
class InstanceConfig:
    name: str = _key("Fync", "the community's name, shown on every page")
    description: str = _key("", "one paragraph about the community, shown on the home page")
    open_signup: bool = _key(True, "false closes the signup form (admins add accounts by CLI)")
    timezone: str = _key("UTC", "IANA name: the default for people who set none")


@dataclass(frozen=True)
class MailConfig:
    host: str = _key("", "SMTP server for outgoing mail (password reset); empty: no mail")
    port: int = _key(587, "SMTP port: 587 with starttls, 465 with tls")
    security: str = _key("starttls", '"starttls" | "tls" | "none" (none: only to a server on this machine)')
    username: str = _key("", "SMTP login; empty: no login")
    password: str = _key("", "SMTP password (never logged nor shown)", secret=True)
    sender: str = _key("Fync <fync@localhost>", "the From address of Fync's mail", toml="from")

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = _key("", "sqlite:///PATH or postgresql://USER@HOST/DB; empty means fync.db inside data_dir")


@dataclass(frozen=True)
class OAuthConfig:
    access_token_ttl: int = _key(3600, "seconds; 0 = access tokens never expire")
    refresh_token_ttl: int = _key(31536000, "seconds; 0 = refresh tokens never expire")
    code_ttl: int = _key(300, "seconds an authorization code stays valid")
    registration: str = _key("open", '"open" | "approval" | "closed"')
    require_pkce: str = _key("public", '"public" | "always" (OAuth 2.1 strict)')
    registrations_per_hour_per_ip: int = _key(30, "client registrations per IP per hour")


@dataclass(frozen=True)
class SecurityConfig:
    login_failures_per_minute: int = _key(5, "per username and per IP; then 429 + Retry-After")


@dataclass(frozen=True)
class PluginsConfig:
    paths: list = _key(["plugins"], "folders searched for plugins (installed ones like checkins are found too)")
    enabled: list = _key(["checkins"], "plugins to load, by name")
    settings: dict = field(default_factory=dict, metadata={"help": "[plugins.NAME] tables"})


@dataclass(frozen=True)
class FederationConfig:
    enabled: bool = _key(True, "befriend users of other instances over ActivityPub")
    allow_private_addresses: bool = _key(False, "true only for tests on loopback")
    give_up_after: int = _key(259200, "seconds after which an undeliverable activity is given up (logged)")


@dataclass(frozen=True)
class PushConfig:
    contact: str = _key("", 'VAPID "sub": a mailto: or https: URL of the admin; empty = public_url when '
                            "it is https, else none (RFC 8292 makes it optional; Apple's push service wants one)")


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    instance: InstanceConfig = field(default_factory=InstanceConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    plugins: PluginsConfig = field(default_factory=PluginsConfig)
    federation: FederationConfig = field(default_factory=FederationConfig)
    push: PushConfig = field(default_factory=PushConfig)
    base_dir: str = "."  # folder relative paths resolve against (not a config key)

    @property
    def data_dir(self) -> Path:
        return Path(self.base_dir, self.server.data_dir)

    @property
    def database_path(self) -> Path:
        url = self.database.url
        if not url:
            return self.data_dir / "fync.db"
        return Path(self.base_dir, url.removeprefix("sqlite:///"))

    @property
    def issuer(self) -> str:
        return self.server.public_url.rstrip("/")

    @property
    def domain(self) -> str:
        """host[:port] of public_url: the instance's domain (SPEC §6)."""
        return urlsplit(self.server.public_url).netloc


SECTIONS = {f.name: f.type for f in dataclasses.fields(Config) if f.name != "base_dir"}
_SECTION_CLASSES = {
    "server": ServerConfig, "instance": InstanceConfig, "mail": MailConfig, "database": DatabaseConfig,
    "oauth": OAuthConfig, "security": SecurityConfig, "plugins": PluginsConfig,
    "federation": FederationConfig, "push": PushConfig,
}
_CHOICES = {
    ("oauth", "registration"): ("open", "approval", "closed"),
    ("oauth", "require_pkce"): ("public", "always"),
    ("mail", "security"): ("starttls", "tls", "none"),
}
# Whole numbers are never negative; these ones have tighter bounds (min, max).
CENTURY = 100 * 365 * 86400
_RANGES = {
    ("server", "port"): (0, 65535),
    ("mail", "port"): (1, 65535),
    ("server", "max_body_size"): (1, None),
    ("oauth", "code_ttl"): (1, 3600),  # RFC 6749 §4.1.2: codes are short-lived (10 min recommended)
    ("oauth", "access_token_ttl"): (0, CENTURY),  # now + ttl must fit SQLite's 64-bit integers
    ("oauth", "refresh_token_ttl"): (0, CENTURY),
    ("server", "idle_timeout"): (1, None),
    ("federation", "give_up_after"): (60, None),
    ("oauth", "registrations_per_hour_per_ip"): (1, None),
    ("security", "login_failures_per_minute"): (1, None),
}
# Variables that share the FYNC_ prefix but are not config keys.
_NOT_KEYS = {"FYNC_CONFIG", "FYNC_NO_BROWSER"}
# Keys Fync no longer has: the one value each may keep (it asks for what Fync does anyway, and
# sample configs carried it), and what to do instead of any other. Flags and FYNC_* variables too.
_RETIRED = {
    ("server", "workers"): (1, "Fync no longer starts worker processes itself ([server] workers, --workers "
                               "and FYNC_SERVER_WORKERS are gone). For several processes on PostgreSQL, run "
                               "one `fync serve` per port under systemd (fync@PORT.service) behind nginx: "
                               'see docs/deploy.md, "Several processes"'),
}
log = logging.getLogger("fync.config")


def load_config(path: str | None = None, env: dict | None = None,
                overrides: dict | None = None) -> Config:
    """Read defaults, then the file, then FYNC_* variables, then CLI overrides."""
    env = os.environ if env is None else env
    path = path or env.get("FYNC_CONFIG") or ("fync.toml" if Path("fync.toml").exists() else None)
    raw: dict[str, dict] = {}
    base_dir = "."
    if path:
        raw = _read_toml(Path(path))
        base_dir = str(Path(path).resolve().parent)
    for (section, key), value in _env_values(env).items():
        raw.setdefault(section, {})[key] = value
    for (section, key), value in (overrides or {}).items():
        if value is not None:
            raw.setdefault(section, {})[key] = value
    _derive_public_url(raw)
    return _build(raw, base_dir)


def _derive_public_url(raw: dict) -> None:
    """Without a public_url set anywhere, it follows host and port (`fync serve --port 9000`)."""
    server = raw.get("server")
    if not isinstance(server, dict) or "public_url" in server or not ({"host", "port"} & set(server)):
        return
    host, port = server.get("host", ServerConfig.host), server.get("port", ServerConfig.port)
    if not isinstance(host, str) or type(port) is not int:
        return  # _build reports the wrong type
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    server["public_url"] = f"http://{host}:{port}"


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: check --config or $FYNC_CONFIG")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}")


def _env_values(env) -> dict[tuple[str, str], Any]:
    """FYNC_SECTION_KEY=value pairs, parsed to the key's declared type."""
    values = {}
    for name, text in env.items():
        if not name.startswith("FYNC_") or name in _NOT_KEYS or name.startswith("FYNC_TEST_"):
            continue
        section, _, key = name[5:].lower().partition("_")
        ftype = _field_type(section, key, name)
        values[(section, key)] = _parse_env(text, ftype, name)
    return values


def _field_type(section: str, key: str, where: str) -> type:
    cls = _SECTION_CLASSES.get(section)
    if (section, key) in _RETIRED:
        return type(_RETIRED[(section, key)][0])
    if cls is None:
        raise ConfigError(f"unknown config section in {where}: sections are {', '.join(_SECTION_CLASSES)}")
    fields = _fields(cls)
    if key not in fields or key == "settings":
        raise ConfigError(f"unknown config key {where}: [{section}] has {', '.join(k for k in fields if k != 'settings')}")
    return type(fields[key].default) if fields[key].default is not dataclasses.MISSING else list


def _parse_env(text: str, ftype: type, name: str):
    if ftype is bool:
        if text.lower() not in ("true", "false"):
            raise ConfigError(f"{name} must be true or false, not {text!r}")
        return text.lower() == "true"
    if ftype is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {text!r}")
    if ftype is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _build(raw: dict, base_dir: str) -> Config:
    sections = {}
    for section, values in raw.items():
        if section not in _SECTION_CLASSES:
            raise ConfigError(f"unknown config section [{section}]: sections are {', '.join(_SECTION_CLASSES)}")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table")
        sections[section] = _build_section(section, dict(values))
    return Config(base_dir=base_dir, **sections)


def _fields(cls) -> dict[str, dataclasses.Field]:
    """A section's fields by their names in fync.toml."""
    return {key_name(f): f for f in dataclasses.fields(cls)}


def _build_section(section: str, values: dict):
    cls = _SECTION_CLASSES[section]
    fields = _fields(cls)
    if section == "plugins":
        # [plugins.NAME] tables are the plugins' own settings, passed through as they are.
        values["settings"] = {k: values.pop(k) for k in list(values) if isinstance(values[k], dict)}
    for key in [k for k in values if (section, k) in _RETIRED]:
        _retire(section, key, values.pop(key))
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"unknown config key [{section}] {key}: valid keys are {', '.join(fields)}")
        _check_type(section, key, value, fields[key])
    return cls(**{fields[key].name: value for key, value in values.items()})


def _retire(section: str, key: str, value) -> None:
    kept, instead = _RETIRED[(section, key)]
    if type(value) is not type(kept) or value != kept:
        raise ConfigError(f"[{section}] {key} = {value!r}: {instead}")
    log.warning("[%s] %s is no longer used: remove it from the config", section, key)


def _check_type(section: str, key: str, value, f: dataclasses.Field) -> None:
    expected = type(f.default) if f.default is not dataclasses.MISSING else type(f.default_factory())
    # bool is a subclass of int: refuse `port = true`.
    if type(value) is not expected:
        raise ConfigError(f"[{section}] {key} must be {expected.__name__}, not {type(value).__name__} ({value!r})")
    if expected is list and not all(type(item) is str for item in value):
        raise ConfigError(f"[{section}] {key} must be a list of strings, not {value!r}")
    if expected is int:
        low, high = _RANGES.get((section, key), (0, None))
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"[{section}] {key} must be {bounds}, not {value!r}")
    choices = _CHOICES.get((section, key))
    if choices and value not in choices:
        raise ConfigError(f"[{section}] {key} must be one of {', '.join(choices)}, not {value!r}")
    if section == "server" and key == "public_url" and _scheme(value) not in ("http", "https"):
        raise ConfigError(f"[server] public_url must start with http:// or https://, not {value!r}")
    if section == "database" and key == "url" and value and not value.startswith(DATABASE_SCHEMES):
        raise ConfigError(f"[database] url must start with sqlite:///, postgresql:// or postgres://, not {value!r}")
    if section == "server" and key == "trusted_proxies":
        _check_networks(value)
    if section == "instance" and key == "timezone" and not is_zone(value):
        raise ConfigError(f"[instance] timezone must be an IANA time zone name such as \"Europe/Rome\" "
                          f"or \"UTC\", not {value!r}")
    if section == "mail" and key == "from" and not _is_address(value):
        raise ConfigError(f"[mail] from must be a mail address, alone or as \"Name <name@example.org>\", "
                          f"not {value!r}")
    if section == "push" and key == "contact" and value and not is_contact(value):
        raise ConfigError(f"[push] contact must be a mailto: address (mailto:admin@example.org) or an "
                          f"https:// URL, not {value!r}")


def _is_address(text: str) -> bool:
    """`name@host` or `Name <name@host>`, on one line (a header value)."""
    name, address = parseaddr(text)
    local, at, host = address.rpartition("@")
    return bool(local and at and host) and not any(c in text for c in "\r\n") and " " not in address


def _check_networks(entries: list) -> None:
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"[server] trusted_proxies: {entry!r} is not an IP address or network "
                              "(e.g. \"127.0.0.1\", \"::1\", \"10.0.0.0/8\")") from None


def is_contact(value: str) -> bool:
    """A VAPID contact (RFC 8292 §2.1): `mailto:` + one address, or an https URL with a host.
    Printable ASCII only: it travels inside a signed token to push services."""
    if len(value) > 200 or not value.isascii() or any(c <= " " or c == "\x7f" for c in value):
        return False
    if value.startswith("mailto:"):
        local, at, domain = value[7:].partition("@")
        return bool(local and at and domain) and "@" not in domain and "." in domain
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and "@" not in parts.netloc


def _scheme(url: str) -> str | None:
    """The URL's scheme, or None when it cannot be parsed (e.g. a stray "[")."""
    try:
        return urlsplit(url).scheme
    except ValueError:
        return None
