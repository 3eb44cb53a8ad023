"""Property tests for the parsers hostile input reaches (issue 10 item 3), beyond those in
tests/test_oauth_protocol.py (redirect-URI matching, Basic and Bearer headers,
single parameters, scope parsing): cursors and `limit`, redirect-URI lists, Basic
credentials against an independent oracle, scopes with plugin scopes, request JSON,
and the configuration (file and environment).

Each parser either returns a well-formed value or raises its one declared error.
`FYNC_FUZZ_EXAMPLES` sets the examples per property (`make fuzz` runs many more).
"""
from __future__ import annotations

import base64
import json
import os
import string
import tempfile
from pathlib import Path
from urllib.parse import quote, unquote_plus

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gancio_like.config import Config, ConfigError, load_config
from gancio_like.errors import ValidationError
from gancio_like.jsonstrict import parse_json
from gancio_like.oauth.errors import InvalidClient, InvalidClientMetadata, InvalidRedirectURI, InvalidScope
from gancio_like.oauth.params import parse_basic_auth, parse_scope
from gancio_like.oauth.redirect_uris import MAX_REDIRECT_URIS, validate_redirect_uri, validate_redirect_uris
from gancio_like.pagination import MAX_LIMIT, Cursors, parse_limit
from gancio_like.scopes import CORE_SCOPES, ScopeRegistry, format_scope

EXAMPLES = int(os.environ.get("FYNC_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


# -- cursors and limit ---------------------------------------------------------------------------

CURSORS = Cursors("a secret for the tests")


@fuzz
@given(st.dictionaries(st.text(max_size=6), JSON_SCALARS, max_size=4))
def test_a_cursor_decodes_to_what_was_encoded(position):
    assert CURSORS.decode(CURSORS.encode(position)) == position


@fuzz
@given(st.text(max_size=80) | st.text(alphabet=string.ascii_letters + string.digits + "-_.", max_size=80))
def test_any_cursor_text_is_a_position_or_a_400(text):
    try:
        position = CURSORS.decode(text)
    except ValidationError as exc:
        assert exc.field == "cursor"
        return
    assert position is None or isinstance(position, dict)


@fuzz
@given(st.dictionaries(st.text(max_size=6), st.integers(), min_size=1, max_size=3), st.data())
def test_an_edited_or_foreign_cursor_is_refused(position, data):
    cursor = CURSORS.encode(position)
    i = data.draw(st.integers(0, len(cursor) - 1))
    edited = cursor[:i] + data.draw(st.sampled_from([c for c in "AZaz09-_." if c != cursor[i]])) + cursor[i + 1:]
    for forged in (edited, Cursors("another instance").encode(position)):
        try:
            assert CURSORS.decode(forged) == position  # only base64's unused low bits may differ
        except ValidationError:
            pass


@fuzz
@given(st.none() | st.text(max_size=8) | st.integers(-5, 200).map(str))
@example("²")  # str.isdigit() is true for it, int() refuses it
@example("٣")  # an Arabic-Indic three: int() takes it
def test_limit_is_a_number_from_1_to_100_or_a_400(value):
    try:
        limit = parse_limit(value)
    except ValidationError as exc:
        assert exc.field == "limit"
        return
    assert 1 <= limit <= MAX_LIMIT


# -- redirect URI lists (RFC 7591 `redirect_uris`, Gancio's space-separated string) ----------------

URI_PARTS = st.sampled_from(["https://app.example/cb", "http://127.0.0.1:8000/cb", "com.example.app:/cb",
                             "http://evil.example/", "https://a.example/#f", "javascript:alert(1)", ""])


@fuzz
@given(st.lists(URI_PARTS | st.text(max_size=30), max_size=14) | JSON_VALUES)
def test_redirect_uri_lists_are_validated_whole(value):
    try:
        uris = validate_redirect_uris(value)
    except (InvalidRedirectURI, InvalidClientMetadata):
        return
    given_uris = value.split(" ") if isinstance(value, str) else value
    assert uris and len(uris) <= MAX_REDIRECT_URIS and len(set(uris)) == len(uris)
    assert set(uris) <= set(given_uris)
    for uri in uris:
        validate_redirect_uri(uri)


@fuzz
@given(st.lists(URI_PARTS.filter(bool), min_size=1, max_size=5))
def test_a_space_separated_string_means_the_same_list(uris):
    def outcome(value):
        try:
            return validate_redirect_uris(value)
        except (InvalidRedirectURI, InvalidClientMetadata) as exc:
            return type(exc)
    assert outcome(" ".join(uris)) == outcome(uris)


# -- Basic credentials against an independent oracle (RFC 6749 §2.3.1) --------------------------

def basic_oracle(payload: bytes):
    """What `Authorization: Basic base64(payload)` must mean: (id, secret), or None for malformed."""
    try:
        text = payload.decode("utf-8")
        client_id, colon, secret = text.partition(":")
        client_id, secret = unquote_plus(client_id, errors="strict"), unquote_plus(secret, errors="strict")
    except UnicodeDecodeError:
        return None
    if not colon or not client_id or "\x00" in client_id + secret:
        return None
    return client_id, secret


@fuzz
@given(st.binary(max_size=40) | st.builds(lambda a, b: f"{a}:{b}".encode(), st.text(max_size=10), st.text(max_size=10)),
       st.sampled_from(["Basic ", "basic ", "BASIC   "]))
def test_basic_credentials_mean_what_the_rfc_says(payload, scheme):
    expected = basic_oracle(payload)
    header = scheme + base64.b64encode(payload).decode()
    try:
        assert parse_basic_auth(header) == expected and expected is not None
    except InvalidClient:
        assert expected is None


@fuzz
@given(st.text(min_size=1, max_size=20).filter(lambda s: "\x00" not in s), st.text(max_size=20).filter(lambda s: "\x00" not in s))
def test_form_encoded_credentials_round_trip(client_id, secret):
    encoded = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    assert parse_basic_auth("Basic " + base64.b64encode(encoded).decode()) == (client_id, secret)


# -- scopes with plugin scopes ------------------------------------------------------------------------

REGISTRY = ScopeRegistry({"checkins:read": "r", "checkins:write": "w"})


@fuzz
@given(st.sets(st.sampled_from(REGISTRY.names())), st.lists(st.integers(1, 4), min_size=10, max_size=10))
def test_any_run_of_spaces_separates_scopes(scopes, gaps):
    text = "".join(" " * gap + scope for gap, scope in zip(gaps, sorted(scopes))) + " " * gaps[-1]
    assert parse_scope(REGISTRY, text) == frozenset(scopes)
    assert parse_scope(REGISTRY, format_scope(scopes)) == frozenset(scopes)


@fuzz
@given(st.lists(st.sampled_from(REGISTRY.names()) | st.text(max_size=12), max_size=5))
def test_one_unknown_or_malformed_token_spoils_the_scope(tokens):
    text = " ".join(tokens)
    try:
        parsed = parse_scope(REGISTRY, text)
    except InvalidScope as exc:
        assert any(t and t not in REGISTRY for t in " ".join(tokens).split(" "))
        assert "\x00" not in exc.description
        return
    assert parsed == {t for t in text.split(" ") if t} and parsed <= set(REGISTRY.names())


# -- request JSON (jsonstrict.parse_json) ------------------------------------------------------------

def storable(value) -> bool:
    texts = [value] if isinstance(value, str) else []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict):
            stack += list(item) + list(item.values())
        elif isinstance(item, list):
            stack += item
    return not any("\x00" in t or any(0xD800 <= ord(c) <= 0xDFFF for c in t) for t in texts)


@fuzz
@given(JSON_VALUES | st.text().map(lambda t: {"t": t}))
def test_json_round_trips_unless_it_holds_nul_or_surrogates(value):
    raw = json.dumps(value).encode()
    try:
        assert parse_json(raw) == value
        assert storable(value)
    except ValueError:
        assert not storable(value)


@fuzz
@given(st.binary(max_size=60))
def test_any_body_is_json_or_a_value_error(raw):
    try:
        parse_json(raw)
    except ValueError:
        pass


# -- configuration --------------------------------------------------------------------------------------

ENV_KEYS = ["FYNC_SERVER_HOST", "FYNC_SERVER_PORT", "FYNC_SERVER_PUBLIC_URL", "FYNC_SERVER_MAX_BODY_SIZE",
            "FYNC_SERVER_IDLE_TIMEOUT", "FYNC_OAUTH_ACCESS_TOKEN_TTL", "FYNC_OAUTH_REGISTRATION",
            "FYNC_INSTANCE_OPEN_SIGNUP", "FYNC_PLUGINS_ENABLED", "FYNC_FEDERATION_ENABLED", "FYNC_NOPE_X",
            "FYNC_SERVER_NOPE", "FYNC_SERVER_TRUSTED_PROXIES"]
ENV_TEXT = st.text(max_size=12) | st.integers(-70000, 70000).map(str) | st.sampled_from(
    ["true", "FALSE", "open", "closed", "http://x.example", "https://[::1]:8443/", "127.0.0.1", "::1", "0.0.0.0"])
TOML_VALUES = st.integers(-(2 ** 63), 2 ** 63 - 1) | st.booleans() | st.text(max_size=10) | st.lists(st.text(max_size=5), max_size=3)
SECTIONS = {"server": ["host", "port", "public_url", "data_dir", "max_body_size", "idle_timeout", "bogus"],
            "oauth": ["access_token_ttl", "code_ttl", "registration", "require_pkce"],
            "instance": ["name", "open_signup"], "plugins": ["paths", "enabled"], "nope": ["x"]}


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value)  # JSON strings are TOML basic strings
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


def toml_document(tables: dict) -> str:
    return "".join(f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in keys.items())
                   for name, keys in tables.items())


TOML_TABLES = st.dictionaries(st.sampled_from(list(SECTIONS)), st.just(None), max_size=3).flatmap(
    lambda names: st.fixed_dictionaries({name: st.dictionaries(st.sampled_from(SECTIONS[name]), TOML_VALUES,
                                                               max_size=4) for name in names}))


def load(text: str = "", env: dict | None = None) -> Config | None:
    """load_config over a file with `text`: the Config, or None for a ConfigError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "fync.toml")
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            return load_config(str(path), env=env or {})
        except ConfigError as exc:
            assert str(exc) and "\n" not in str(exc).strip()
            return None


@fuzz
@given(st.dictionaries(st.sampled_from(ENV_KEYS), ENV_TEXT, max_size=4))
@example({"FYNC_SERVER_PUBLIC_URL": "http://["})
@example({"FYNC_SERVER_HOST": "["})
def test_environment_overrides_give_a_config_or_a_config_error(env):
    cfg = load(env=env)
    if cfg is not None:
        assert 0 <= cfg.server.port <= 65535 and cfg.server.public_url.startswith(("http://", "https://"))
        cfg.domain  # noqa: B018 - derived values work too
        cfg.issuer  # noqa: B018


@fuzz
@given(TOML_TABLES)
def test_config_files_give_a_config_or_a_config_error(tables):
    cfg = load(toml_document(tables))
    if cfg is not None:
        given_server = tables.get("server", {})
        assert cfg.server.port == given_server.get("port", 8080)
        assert cfg.server.max_body_size >= 1


@fuzz
@given(st.text(max_size=60))
def test_any_config_text_gives_a_config_or_a_config_error(text):
    load(text)


@fuzz
@given(st.sampled_from(["access_token_ttl", "refresh_token_ttl", "code_ttl"]), st.integers(2 ** 40, 2 ** 70))
def test_accepted_lifetimes_fit_sqlite_integers(key, seconds):
    cfg = load(toml_document({"oauth": {key: seconds}}))
    assert cfg is None or getattr(cfg.oauth, key) < 2 ** 63 - 2 ** 34  # room for "now"
