"""Configuration (SPEC §1): defaults, file, FYNC_* variables, and errors that name the key."""
from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from gancio_like.config import Config, ConfigError, key_name, load_config

REPO = Path(__file__).resolve().parent.parent

# SPEC §1's example config, key by key.
SPEC_DEFAULTS = {
    ("server", "host"): "127.0.0.1",
    ("server", "port"): 8080,
    ("server", "public_url"): "http://127.0.0.1:8080",
    ("server", "data_dir"): "data",
    ("instance", "name"): "Fync",
    ("instance", "description"): "",
    ("instance", "open_signup"): True,
    ("instance", "timezone"): "UTC",
    ("mail", "host"): "",
    ("mail", "port"): 587,
    ("mail", "security"): "starttls",
    ("mail", "username"): "",
    ("mail", "password"): "",
    ("mail", "sender"): "Fync <fync@localhost>",
    ("oauth", "access_token_ttl"): 3600,
    ("oauth", "refresh_token_ttl"): 31536000,
    ("oauth", "code_ttl"): 300,
    ("oauth", "registration"): "open",
    ("oauth", "require_pkce"): "public",
    ("oauth", "registrations_per_hour_per_ip"): 30,
    ("security", "login_failures_per_minute"): 5,
    ("plugins", "paths"): ["plugins"],
    ("federation", "enabled"): True,
    ("federation", "allow_private_addresses"): False,
}


def write_toml(folder: Path, text: str) -> Path:
    path = folder / "fync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, env: dict | None = None) -> Config:
    return load_config(str(write_toml(tmp_path, text)), env=env or {})


def assert_refused(key: str, **kwargs) -> None:
    """load_config(**kwargs) raises ConfigError whose message names `key`."""
    with pytest.raises(ConfigError) as info:
        load_config(**kwargs)
    assert key in str(info.value), str(info.value)


def value(cfg: Config, section: str, key: str):
    return getattr(getattr(cfg, section), key)


def as_dict(cfg: Config) -> dict:
    data = dataclasses.asdict(cfg)
    data.pop("base_dir")
    return data


@pytest.fixture
def no_local_file(tmp_path, monkeypatch):
    """Run in an empty folder, so no ./fync.toml is picked up."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# -- defaults -------------------------------------------------------------------------


@pytest.mark.parametrize("section,key", sorted(SPEC_DEFAULTS))
def test_default_equals_spec(no_local_file, section, key):
    cfg = load_config(None, env={})
    assert value(cfg, section, key) == SPEC_DEFAULTS[(section, key)]


def test_default_enables_checkins_plugin(no_local_file):
    assert load_config(None, env={}).plugins.enabled == ["checkins"]


def test_default_database_is_fync_db_in_data_dir(no_local_file):
    cfg = load_config(None, env={})
    assert cfg.database_path.resolve() == no_local_file / "data" / "fync.db"


def test_without_a_file_relative_paths_resolve_against_working_directory(no_local_file):
    assert load_config(None, env={}).data_dir.resolve() == no_local_file / "data"


def test_local_fync_toml_is_used_when_no_path(no_local_file):
    write_toml(no_local_file, '[instance]\nname = "Here"\n')
    assert load_config(None, env={}).instance.name == "Here"


# -- file --------------------------------------------------------------------------------


def test_file_sets_values(tmp_path):
    cfg = load_text(tmp_path, '[server]\nport = 8123\n[instance]\nname = "Hikers"\nopen_signup = false\n'
                              '[oauth]\nregistration = "approval"\n[plugins]\npaths = ["a", "b"]\n')
    assert (cfg.server.port, cfg.instance.name, cfg.instance.open_signup) == (8123, "Hikers", False)
    assert cfg.oauth.registration == "approval"
    assert cfg.plugins.paths == ["a", "b"]
    assert cfg.server.host == "127.0.0.1"  # untouched keys keep their default


def test_relative_data_dir_resolves_against_the_files_folder(tmp_path, monkeypatch):
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    monkeypatch.chdir(tmp_path)
    cfg = load_config(str(write_toml(conf_dir, '[server]\ndata_dir = "state"\n')), env={})
    assert cfg.data_dir.resolve() == conf_dir / "state"
    assert cfg.database_path.resolve() == conf_dir / "state" / "fync.db"


def test_absolute_data_dir_is_kept(tmp_path):
    cfg = load_text(tmp_path, f'[server]\ndata_dir = "{tmp_path / "abs"}"\n')
    assert cfg.data_dir == tmp_path / "abs"


def test_database_url_takes_sqlite_or_postgresql_only(tmp_path):
    assert load_text(tmp_path, '[database]\nurl = "postgresql://fync@db/fync"\n').database.url.startswith("postgresql")
    assert_refused("[database] url", path=str(write_toml(tmp_path, '[database]\nurl = "mysql://db/fync"\n')), env={})


def test_database_url_relative_to_the_files_folder(tmp_path):
    cfg = load_text(tmp_path, '[database]\nurl = "sqlite:///db/main.db"\n')
    assert cfg.database_path == tmp_path / "db" / "main.db"


def test_plugin_tables_are_plugin_settings(tmp_path):
    cfg = load_text(tmp_path, '[plugins]\nenabled = []\n[plugins.checkins]\nradius = 5\n')
    assert cfg.plugins.settings == {"checkins": {"radius": 5}}


def test_fync_config_variable_is_used_when_no_path(tmp_path, no_local_file):
    path = write_toml(tmp_path, '[instance]\nname = "From env"\n')
    assert load_config(None, env={"FYNC_CONFIG": str(path)}).instance.name == "From env"


def test_explicit_path_wins_over_fync_config(tmp_path):
    (tmp_path / "other").mkdir()
    other = write_toml(tmp_path / "other", '[instance]\nname = "Other"\n')
    path = write_toml(tmp_path, '[instance]\nname = "Explicit"\n')
    assert load_config(str(path), env={"FYNC_CONFIG": str(other)}).instance.name == "Explicit"


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.toml"), env={})


def test_invalid_toml_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_text(tmp_path, "[server\nport = 1\n")


# -- environment ---------------------------------------------------------------------------


def test_env_overrides_port_as_int(no_local_file):
    assert load_config(None, env={"FYNC_SERVER_PORT": "9000"}).server.port == 9000


def test_env_wins_over_file(tmp_path):
    cfg = load_text(tmp_path, "[server]\nport = 8123\n", env={"FYNC_SERVER_PORT": "9000"})
    assert cfg.server.port == 9000


@pytest.mark.parametrize("text,expected", [("true", True), ("false", False), ("TRUE", True)])
def test_env_booleans(no_local_file, text, expected):
    cfg = load_config(None, env={"FYNC_INSTANCE_OPEN_SIGNUP": text,
                                 "FYNC_FEDERATION_ALLOW_PRIVATE_ADDRESSES": text})
    assert cfg.instance.open_signup is expected
    assert cfg.federation.allow_private_addresses is expected


def test_env_lists_are_comma_separated(no_local_file):
    cfg = load_config(None, env={"FYNC_PLUGINS_PATHS": "one, two ,three"})
    assert cfg.plugins.paths == ["one", "two", "three"]


def test_env_key_with_underscores(no_local_file):
    cfg = load_config(None, env={"FYNC_OAUTH_ACCESS_TOKEN_TTL": "0", "FYNC_SERVER_PUBLIC_URL": "https://x.example"})
    assert cfg.oauth.access_token_ttl == 0
    assert cfg.server.public_url == "https://x.example"


def test_public_url_follows_port_when_not_set(no_local_file):
    cfg = load_config(None, env={}, overrides={("server", "port"): 9001})
    assert cfg.server.public_url == "http://127.0.0.1:9001"


def test_explicit_public_url_is_kept_when_port_changes(tmp_path):
    cfg = load_text(tmp_path, '[server]\npublic_url = "https://fync.example"\n', env={"FYNC_SERVER_PORT": "9000"})
    assert cfg.server.public_url == "https://fync.example"


def test_other_environment_variables_are_ignored(no_local_file):
    assert load_config(None, env={"HOME": "/root", "PATH": "/bin"}).server.port == 8080


def test_overrides_win_over_env(no_local_file):
    cfg = load_config(None, env={"FYNC_SERVER_PORT": "9000"}, overrides={("server", "port"): 9001})
    assert cfg.server.port == 9001


# -- errors name the key ------------------------------------------------------------------------


def test_unknown_section_is_refused(tmp_path):
    assert_refused("serverz", path=str(write_toml(tmp_path, "[serverz]\nport = 1\n")), env={})


def test_unknown_key_is_refused(tmp_path):
    assert_refused("prot", path=str(write_toml(tmp_path, "[server]\nprot = 1\n")), env={})


def test_top_level_key_outside_a_section_is_refused(tmp_path):
    assert_refused("port", path=str(write_toml(tmp_path, "port = 1\n")), env={})


@pytest.mark.parametrize("section,line,key", [
    ("server", 'port = "x"', "port"),
    ("server", "port = true", "port"),
    ("server", "port = 80.5", "port"),
    ("instance", 'open_signup = "yes"', "open_signup"),
    ("instance", "open_signup = 1", "open_signup"),
    ("instance", "name = 5", "name"),
    ("instance", 'timezone = "Mars/Olympus"', "timezone"),
    ("instance", 'timezone = "europe/rome"', "timezone"),
    ("mail", 'security = "ssl"', "security"),
    ("mail", "port = 0", "port"),
    ("mail", 'from = "not an address"', "from"),
    ("mail", 'from = "Fync <fync@example.org>\\nBcc: x@example.org"', "from"),
    ("plugins", 'paths = "plugins"', "paths"),
    ("plugins", "enabled = [1]", "enabled"),
    ("oauth", 'registration = "maybe"', "registration"),
    ("oauth", 'require_pkce = "never"', "require_pkce"),
    ("server", 'public_url = "ftp://x.example"', "public_url"),
    ("server", "port = 70000", "port"),
    ("server", "port = -1", "port"),
    ("oauth", "code_ttl = -5", "code_ttl"),
    ("security", "login_failures_per_minute = 0", "login_failures_per_minute"),
])
def test_bad_value_in_file_is_refused_naming_the_key(tmp_path, section, line, key):
    assert_refused(key, path=str(write_toml(tmp_path, f"[{section}]\n{line}\n")), env={})


@pytest.mark.parametrize("name,text", [
    ("FYNC_SERVER_PORT", "x"),
    ("FYNC_SERVER_PORT", "true"),
    ("FYNC_INSTANCE_OPEN_SIGNUP", "yes"),
    ("FYNC_OAUTH_REGISTRATION", "maybe"),
    ("FYNC_SERVER_PROT", "1"),
    ("FYNC_NOSUCH_KEY", "1"),
])
def test_bad_env_value_is_refused_naming_the_key(no_local_file, name, text):
    with pytest.raises(ConfigError) as info:
        load_config(None, env={name: text})
    message = str(info.value)
    assert name in message or name.split("_", 2)[2].lower() in message, message


def test_bad_override_is_refused(no_local_file):
    assert_refused("port", path=None, env={}, overrides={("server", "port"): "x"})


# -- keys that are gone ----------------------------------------------------------------------------


@pytest.mark.parametrize("where", [
    {"text": "[server]\nworkers = 2\n"},
    {"text": "[server]\nworkers = true\n"},
    {"text": "", "env": {"FYNC_SERVER_WORKERS": "4"}},
    {"text": "", "overrides": {("server", "workers"): 3}},  # `fync serve --workers 3`
])
def test_workers_is_refused_saying_what_to_do_instead(tmp_path, where):
    with pytest.raises(ConfigError) as info:
        load_config(str(write_toml(tmp_path, where["text"])), env=where.get("env", {}),
                    overrides=where.get("overrides"))
    message = str(info.value)
    assert message.startswith("[server] workers = ") and "no longer" in message
    assert "fync@PORT.service" in message and 'docs/deploy.md, "Several processes"' in message


def test_workers_1_asked_for_one_process_so_it_is_only_warned_about(tmp_path, caplog):
    cfg = load_text(tmp_path, "[server]\nworkers = 1\nport = 9000\n")
    assert cfg.server.port == 9000 and not hasattr(cfg.server, "workers")
    assert "[server] workers is no longer used: remove it" in caplog.text


# -- the repo's own fync.toml -------------------------------------------------------------------


def test_repo_fync_toml_equals_builtin_defaults():
    cfg = load_config(str(REPO / "fync.toml"), env={})
    assert as_dict(cfg) == as_dict(Config())
    assert cfg.base_dir == str(REPO)


def test_repo_fync_toml_documents_every_key():
    text = (REPO / "fync.toml").read_text(encoding="utf-8")
    sections = re.split(r"^\[(\w+)\]\s*$", text, flags=re.M)
    documented = {sections[i]: sections[i + 1] for i in range(1, len(sections), 2)}
    for f in dataclasses.fields(Config):
        if f.name == "base_dir":
            continue
        assert f.name in documented, f"[{f.name}] missing from fync.toml"
        for key in dataclasses.fields(f.type if isinstance(f.type, type) else f.default_factory):
            if key.name == "settings":
                continue
            assert re.search(rf"^#?\s*{key_name(key)}\s*=.*#", documented[f.name], flags=re.M), \
                f"[{f.name}] {key_name(key)} is not documented (with a comment) in fync.toml"


def test_repo_fync_toml_is_valid_toml():
    with open(REPO / "fync.toml", "rb") as f:
        assert set(tomllib.load(f)) <= {f.name for f in dataclasses.fields(Config)}


# -- [mail] (SPEC §1) ---------------------------------------------------------------------------


def test_mail_from_is_read_from_its_toml_name(tmp_path):
    cfg = load_text(tmp_path, '[mail]\nhost = "smtp.example.org"\nfrom = "Club <club@example.org>"\n')
    assert cfg.mail.sender == "Club <club@example.org>" and cfg.mail.enabled


def test_mail_from_by_environment(no_local_file):
    cfg = load_config(None, env={"FYNC_MAIL_FROM": "club@example.org", "FYNC_MAIL_PORT": "465"})
    assert (cfg.mail.sender, cfg.mail.port) == ("club@example.org", 465)


def test_mail_python_name_is_not_a_key(tmp_path):
    with pytest.raises(ConfigError, match="sender"):
        load_text(tmp_path, '[mail]\nsender = "club@example.org"\n')


def test_mail_password_stays_out_of_reprs(tmp_path):
    cfg = load_text(tmp_path, '[mail]\nhost = "smtp.example.org"\npassword = "hunter2-secret"\n')
    assert cfg.mail.password == "hunter2-secret"
    assert "hunter2-secret" not in repr(cfg) and "hunter2-secret" not in repr(cfg.mail)


def test_mail_is_off_without_a_host():
    assert not Config().mail.enabled
