"""Framework-free OAuth protocol pieces: errors, parameters, PKCE, redirect URIs, scopes.

Attack cases follow /work/shared/SECURITY-CHECKLIST.md (item numbers in test names).
"""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gancio_like.oauth import errors, params, pkce, redirect_uris
from gancio_like.oauth.errors import (
    AccessDenied, InsufficientScope, InvalidClient, InvalidClientMetadata, InvalidGrant,
    InvalidRedirectURI, InvalidRequest, InvalidScope, InvalidToken, OAuthError, RateLimited,
    ServerError, TemporarilyUnavailable, UnauthorizedClient, UnsupportedGrantType,
    UnsupportedResponseType,
)
from gancio_like.oauth.redirect_uris import (
    is_loopback_host, match_redirect_uri, validate_redirect_uri, validate_redirect_uris,
)
from gancio_like.scopes import (
    CORE_SCOPES, PLUGIN_SCOPE, SCOPE_TOKEN, ScopeRegistry, format_scope,
)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def raw_basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


# --- errors -------------------------------------------------------------------------

@pytest.mark.parametrize("cls, code, status", [
    (InvalidRequest, "invalid_request", 400),
    (InvalidClient, "invalid_client", 401),
    (InvalidGrant, "invalid_grant", 400),
    (UnauthorizedClient, "unauthorized_client", 400),
    (UnsupportedGrantType, "unsupported_grant_type", 400),
    (InvalidScope, "invalid_scope", 400),
    (AccessDenied, "access_denied", 403),
    (UnsupportedResponseType, "unsupported_response_type", 400),
    (ServerError, "server_error", 500),
    (TemporarilyUnavailable, "temporarily_unavailable", 503),
    (InvalidRedirectURI, "invalid_redirect_uri", 400),
    (InvalidClientMetadata, "invalid_client_metadata", 400),
    (InvalidToken, "invalid_token", 401),
])
def test_error_codes_and_statuses(cls, code, status):
    err = cls("why")
    assert isinstance(err, OAuthError)
    assert (err.error, err.status_code) == (code, status)
    assert err.body() == {"error": code, "error_description": "why"}
    assert str(err) == "why"


def test_error_defaults_to_empty_description_and_no_state():
    err = InvalidRequest()
    assert err.body() == {"error": "invalid_request", "error_description": ""}
    assert err.state is None


def test_redirect_params_carry_iss_and_state_byte_exact():
    state = "é&#x=1 ü"
    err = AccessDenied("user said no", state=state)
    assert err.redirect_params("https://fync.example") == {
        "error": "access_denied", "error_description": "user said no",
        "iss": "https://fync.example", "state": state,
    }


def test_redirect_params_omit_absent_state():
    params_ = InvalidScope("bad").redirect_params("https://i.example")
    assert "state" not in params_
    assert params_["iss"] == "https://i.example"


def test_empty_state_is_kept_when_given():
    # The caller has already dropped empty parameters; an explicit "" is its choice.
    assert InvalidScope("x", state="").redirect_params("i")["state"] == ""


def test_description_restricted_to_rfc6749_charset():
    err = InvalidRequest('bad "x"\\ \r\nSet-Cookie: a=b é\x00')
    assert err.description == "bad ?x?? ??Set-Cookie: a=b ??"
    assert all(c == " " or c == "!" or "#" <= c <= "~" and c != "\\" for c in err.description)


def test_insufficient_scope_has_scope():
    err = InsufficientScope("needs more", scope="event:write")
    assert (err.error, err.status_code, err.scope) == ("insufficient_scope", 403, "event:write")


def test_insufficient_scope_requires_scope_keyword():
    with pytest.raises(TypeError):
        InsufficientScope("x")


def test_rate_limited():
    err = RateLimited("slow down", retry_after=30)
    assert (err.error, err.status_code, err.retry_after) == ("temporarily_unavailable", 429, 30)
    assert RateLimited(retry_after=0).retry_after == 1
    assert RateLimited().retry_after == 60


def test_every_error_class_is_exported_from_errors_module():
    classes = [v for v in vars(errors).values()
               if isinstance(v, type) and issubclass(v, OAuthError) and v is not OAuthError]
    assert all(isinstance(cls.error, str) and cls.error for cls in classes)
    assert len(classes) == 16


# --- single_params -------------------------------------------------------------------

def test_single_params_decodes_one_value_each():
    got = params.single_params({"client_id": [b"abc"], "state": ["é".encode()]})
    assert got == {"client_id": "abc", "state": "é"}


def test_single_params_duplicate_is_invalid_request_item_7_8():
    with pytest.raises(InvalidRequest, match="'client_id' was sent more than once"):
        params.single_params({"client_id": [b"a", b"a"]})


def test_single_params_duplicate_with_empty_value_still_refused():
    with pytest.raises(InvalidRequest):
        params.single_params({"code": [b"", b"x"]})


def test_single_params_empty_value_is_absent_item_7():
    assert params.single_params({"state": [b""], "scope": [b"profile"]}) == {"scope": "profile"}


def test_single_params_empty_list_is_absent():
    assert params.single_params({"state": []}) == {}


def test_single_params_invalid_utf8_names_parameter():
    with pytest.raises(InvalidRequest, match="'code' is not valid UTF-8"):
        params.single_params({"code": [b"\xff\xfe"]})


@pytest.mark.parametrize("arguments", [{"code": [b"a\x00b"]}, {"co\x00de": [b"x"]}])
def test_single_params_nul_refused(arguments):
    with pytest.raises(InvalidRequest, match="NUL"):
        params.single_params(arguments)


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=8), st.lists(st.binary(max_size=12), max_size=3)))
def test_single_params_only_raises_invalid_request(arguments):
    try:
        got = params.single_params(arguments)
    except InvalidRequest:
        return
    assert set(got) <= set(arguments)
    for name, value in got.items():
        assert value and "\x00" not in value
        assert arguments[name] == [value.encode("utf-8")]


# --- parse_basic_auth ----------------------------------------------------------------

def test_basic_absent_or_other_scheme_is_none():
    assert params.parse_basic_auth(None) is None
    assert params.parse_basic_auth("") is None
    assert params.parse_basic_auth("Bearer abc") is None
    assert params.parse_basic_auth("Basicx " + base64.b64encode(b"a:b").decode()) is None


@pytest.mark.parametrize("scheme", ["Basic", "basic", "BASIC"])
def test_basic_scheme_case_insensitive(scheme):
    header = f"{scheme} " + base64.b64encode(b"client:secret").decode()
    assert params.parse_basic_auth(header) == ("client", "secret")


def test_basic_urlencoded_colon_item_30():
    assert params.parse_basic_auth(basic("my:client", "s:e cr+et%")) == ("my:client", "s:e cr+et%")
    assert params.parse_basic_auth(raw_basic(b"a%3Ab:c%3Ad")) == ("a:b", "c:d")


def test_basic_splits_at_first_colon_and_plus_is_space():
    assert params.parse_basic_auth(raw_basic(b"id:se:cret+x")) == ("id", "se:cret x")


def test_basic_empty_secret_allowed():
    assert params.parse_basic_auth(raw_basic(b"id:")) == ("id", "")


@pytest.mark.parametrize("header", [
    "Basic !!!notbase64", "Basic YWJj", "Basic", "Basic ",  # bad base64; no colon; empty
    raw_basic(b"\xff\xfe:x"), raw_basic(b"a%ff:b"),          # invalid UTF-8, raw or encoded
    raw_basic(b":secret"), raw_basic(b"a%00:b"),             # empty id; NUL
    "Basic Y2xpZW50OnNlY3JldA== trailing", "Basic ÿÿÿÿ",
])
def test_basic_malformed_is_invalid_client_item_30(header):
    with pytest.raises(InvalidClient, match="malformed Basic credentials"):
        params.parse_basic_auth(header)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=40), st.binary(max_size=40).map(raw_basic)))
def test_basic_never_raises_anything_else(header):
    try:
        result = params.parse_basic_auth(header)
    except InvalidClient:
        return
    assert result is None or (isinstance(result, tuple) and result[0])


@given(st.text(min_size=1), st.text())
def test_basic_roundtrip(client_id, secret):
    if "\x00" in client_id + secret:
        return
    assert params.parse_basic_auth(basic(client_id, secret)) == (client_id, secret)


# --- parse_bearer --------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_scheme_case_insensitive_item_40(scheme):
    assert params.parse_bearer(f"{scheme} abc.DEF-_~+/9==") == "abc.DEF-_~+/9=="


def test_bearer_and_basic_allow_several_spaces_after_scheme():
    assert params.parse_bearer("Bearer   abc") == "abc"
    assert params.parse_basic_auth("Basic   " + base64.b64encode(b"a:b").decode()) == ("a", "b")


def test_bearer_absent_or_other_scheme():
    assert params.parse_bearer(None) is None
    assert params.parse_bearer("") is None
    assert params.parse_bearer("Basic YTpi") is None
    assert params.parse_bearer("Bearerabc") is None


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "bearer   "])
def test_bearer_without_credentials_is_no_token(header):
    assert params.parse_bearer(header) is None  # RFC 6750 §3.1: answered without an error code


@pytest.mark.parametrize("header", [
    "Bearer a b", "Bearer a\tb", "Bearer tok=en", "Bearer =abc",
    "Bearer t\x00k", "Bearer tök", "Bearer a,b", 'Bearer "abc"', "Bearer abc\n",
])
def test_bearer_malformed_is_invalid_token(header):
    with pytest.raises(InvalidToken):
        params.parse_bearer(header)


@given(st.text(max_size=30))
def test_bearer_never_raises_anything_else(header):
    try:
        token = params.parse_bearer(header)
    except InvalidToken:
        return
    assert token is None or (token and " " not in token and token.isascii())


# --- PKCE ----------------------------------------------------------------------------

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 Appendix B


def test_pkce_rfc7636_appendix_b_vector():
    assert s256(VERIFIER) == CHALLENGE
    assert pkce.verify(VERIFIER, CHALLENGE)


def test_pkce_check_challenge_accepts_s256():
    assert pkce.check_challenge(CHALLENGE, "S256", required=True) == CHALLENGE
    assert pkce.check_challenge("a" * 128, "S256", required=False) == "a" * 128


def test_pkce_absent_and_optional_is_none():
    assert pkce.check_challenge(None, None, required=False) is None


def test_pkce_required_but_absent_item_12():
    with pytest.raises(InvalidRequest, match=r"code_challenge required \(PKCE S256\)"):
        pkce.check_challenge(None, None, required=True)


def test_pkce_method_without_challenge():
    with pytest.raises(InvalidRequest):
        pkce.check_challenge(None, "S256", required=False)


@pytest.mark.parametrize("method", ["plain", None, "s256", "S512", "", "S256 "])
def test_pkce_plain_or_missing_method_refused_item_13(method):
    with pytest.raises(InvalidRequest):
        pkce.check_challenge(CHALLENGE, method, required=False)


@pytest.mark.parametrize("challenge", [
    "a" * 42, "a" * 129, CHALLENGE[:-1] + "=", CHALLENGE[:-1] + "+", CHALLENGE[:-1] + "/",
    CHALLENGE[:-1] + " ", CHALLENGE[:-1] + "é", "", CHALLENGE + "\n",
])
def test_pkce_bad_challenge_item_14(challenge):
    with pytest.raises(InvalidRequest):
        pkce.check_challenge(challenge, "S256", required=False)


def test_pkce_wrong_verifier_item_16():
    assert not pkce.verify("x" * 43, CHALLENGE)
    assert not pkce.verify(VERIFIER + "a", CHALLENGE)


def test_pkce_verifier_equal_to_challenge_item_16():
    assert not pkce.verify(CHALLENGE, CHALLENGE)


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 129, "a" * 42 + " ", "a" * 42 + "é", ""])
def test_pkce_malformed_verifier_is_false(verifier):
    assert not pkce.verify(verifier, s256(verifier))


def test_pkce_non_ascii_stored_challenge_does_not_raise():
    assert not pkce.verify(VERIFIER, "é" * 43)


@given(st.text(alphabet="ABCXYZabcxyz0189-._~", min_size=43, max_size=128))
def test_pkce_roundtrip(verifier):
    challenge = pkce.check_challenge(s256(verifier), "S256", required=True)
    assert pkce.verify(verifier, challenge)
    assert not pkce.verify(verifier, s256(verifier + "x"))


# --- redirect URI validation ----------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "https://app.example/cb",
    "https://app.example",
    "https://app.example:8443/cb?x=1&y=2",
    "https://sub.app-example.co.uk/a/b/c",
    "https://203.0.113.5/cb",
    "https://[2001:db8::1]:443/cb",
    "https://app.example/@user/cb",
    "http://127.0.0.1/cb",
    "http://127.0.0.1:51004/cb",
    "http://127.0.0.1",
    "http://[::1]/cb",
    "http://[::1]:8080/cb",
    "http://localhost:3000/callback",
    "http://LOCALHOST/cb",
    "com.example.app:/oauth2redirect",
    "com.example.app://callback",
    "https://xn--80ak6aa92e.com/cb",
    "https://app.example/" + "a" * 1980,
])
def test_valid_redirect_uris_item_52(uri):
    validate_redirect_uri(uri)


@pytest.mark.parametrize("uri, why", [
    ("javascript:alert(1)", "javascript"),
    ("JavaScript:alert(1)//", "javascript"),
    ("data:text/html,<script>alert(1)</script>", "data"),
    ("file:///etc/passwd", "file"),
    ("vbscript:msgbox", "vbscript"),
    ("http://evil.tld/cb", "loopback"),
    ("http://app.example/cb", "loopback"),
    ("http://127.0.0.1.evil.tld/cb", "loopback"),
    ("http://localhost.evil.tld/cb", "loopback"),
    ("http://127.1/cb", "loopback"),
    ("http://0.0.0.0/cb", "loopback"),
    ("https://app.example/cb#", "fragment"),
    ("https://app.example/cb#f", "fragment"),
    ("com.example.app:/cb#x", "fragment"),
    ("https://app.example@evil.tld/cb", "userinfo"),
    ("https://user:pass@app.example/cb", "userinfo"),
    ("http://evil.tld@127.0.0.1/cb", "userinfo"),
    ("https://evil.tld\\@app.example/cb", "backslash"),
    ("https://app.example\\.evil.tld/cb", "backslash"),
    ("https://app.example/cb\\..\\x", "backslash"),
    ("https://*.app.example/cb", "wildcard"),
    ("https://*/cb", "wildcard"),
    ("myapp:/cb", "reverse domain"),
    ("myapp://cb", "reverse domain"),
    ("/cb", "absolute"),
    ("app.example/cb", "absolute"),
    ("//app.example/cb", "absolute"),
    ("https:///cb", "host"),
    ("https:/app.example/cb", "host"),
    ("https://:443/cb", "host"),
    ("https://app.example:99999/cb", "unparseable"),
    ("https://app.example:port/cb", "unparseable"),
    ("https://[::1/cb", "unparseable"),
    ("https://app.example%2eevil.tld/cb", "host"),
    ("https://app.example;.evil.tld/cb", "host"),
    ("https://аpp.example/cb", "ASCII"),  # Cyrillic а: IDN homoglyph (item 2)
    ("https://app.example/c b", "ASCII"),
    ("https://app.example/cb\n", "ASCII"),
    (" https://app.example/cb", "ASCII"),
    ("\x01https://app.example/cb", "ASCII"),
    ("https://app.example/c\tb", "ASCII"),
    ("https://app.example/cb\x00", "ASCII"),
    ("", "ASCII"),
    ("https://app.example/" + "a" * 1981, "longer than 2000"),
])
def test_invalid_redirect_uris_items_2_52(uri, why):
    with pytest.raises(InvalidRedirectURI, match=why):
        validate_redirect_uri(uri)


def test_redirect_error_descriptions_are_safe():
    with pytest.raises(InvalidRedirectURI) as info:
        validate_redirect_uri('https://app.example:"x"/cb')
    assert '"' not in info.value.description


@settings(max_examples=500)
@given(st.one_of(
    st.text(max_size=60),
    st.builds("{}://{}{}".format, st.sampled_from(["http", "https", "com.x.app", "HTTPS"]),
              st.text(alphabet="abc.:@[]*%\\19#/?-", max_size=15),
              st.text(alphabet="/ab?#=&@\\", max_size=8)),
))
def test_validate_redirect_uri_only_raises_invalid_redirect_uri(uri):
    try:
        validate_redirect_uri(uri)
    except InvalidRedirectURI:
        return
    assert uri.isascii() and uri.isprintable() and " " not in uri
    assert "#" not in uri and "\\" not in uri
    scheme, _, rest = uri.partition(":")
    authority = re.split(r"[/?]", rest[2:])[0] if rest.startswith("//") else ""
    assert "@" not in authority and "*" not in authority
    host = authority.rsplit(":", 1)[0] if not authority.startswith("[") else authority.split("]")[0] + "]"
    assert scheme.lower() == "https" and host or "." in scheme or (
        scheme.lower() == "http" and is_loopback_host(host))


def test_is_loopback_host():
    for host in ["127.0.0.1", "[::1]", "::1", "localhost", "LocalHost"]:
        assert is_loopback_host(host)
    for host in ["127.0.0.2", "127.0.0.1.evil.tld", "localhost.", "", "0.0.0.0", "::ffff:127.0.0.1"]:
        assert not is_loopback_host(host)


# --- validate_redirect_uris ------------------------------------------------------------

def test_redirect_uris_from_space_separated_string_gancio():
    assert validate_redirect_uris("https://a.example/cb  http://127.0.0.1/cb ") == [
        "https://a.example/cb", "http://127.0.0.1/cb"]


def test_redirect_uris_from_list_dedupes_preserving_order():
    uris = ["https://b.example/cb", "https://a.example/cb", "https://b.example/cb"]
    assert validate_redirect_uris(uris) == ["https://b.example/cb", "https://a.example/cb"]


def test_redirect_uris_string_does_not_split_on_other_whitespace():
    with pytest.raises(InvalidRedirectURI):
        validate_redirect_uris("https://a.example/cb\thttps://b.example/cb")


@pytest.mark.parametrize("value", [[], "", "   "])
def test_redirect_uris_empty(value):
    with pytest.raises(InvalidRedirectURI):
        validate_redirect_uris(value)


def test_redirect_uris_ten_allowed_eleven_refused_item_54():
    ten = [f"https://a.example/{i}" for i in range(10)]
    assert validate_redirect_uris(ten) == ten
    with pytest.raises(InvalidClientMetadata):
        validate_redirect_uris(ten + ["https://a.example/10"])
    with pytest.raises(InvalidClientMetadata):
        validate_redirect_uris(" ".join(ten + ["https://a.example/10"]))


@pytest.mark.parametrize("value", [None, 5, {"uri": "https://a.example/cb"}, ("https://a.example/cb",),
                                   ["https://a.example/cb", 7], [None], [["https://a.example/cb"]]])
def test_redirect_uris_wrong_types(value):
    with pytest.raises(InvalidClientMetadata):
        validate_redirect_uris(value)


def test_redirect_uris_one_bad_entry_refuses_all_item_52():
    with pytest.raises(InvalidRedirectURI):
        validate_redirect_uris(["https://a.example/cb", "javascript:alert(1)"])
    with pytest.raises(InvalidRedirectURI):
        validate_redirect_uris("https://a.example/cb http://evil.tld/cb")


# --- match_redirect_uri --------------------------------------------------------------

C = "https://app.example/cb"
L = "http://127.0.0.1/cb"


def test_match_exact():
    assert match_redirect_uri(C, [C]) == C
    assert match_redirect_uri(C, ["https://other.example/cb", C]) == C


def test_match_omitted_with_one_registered():
    assert match_redirect_uri(None, [C]) == C


def test_match_omitted_with_several_registered_item_3():
    assert match_redirect_uri(None, [C, L]) is None
    assert match_redirect_uri(None, []) is None


def test_match_nothing_registered():
    assert match_redirect_uri(C, []) is None


@pytest.mark.parametrize("requested", [
    "https://app.example/cb/x", "https://app.example/cb/..%2Fx", "https://app.example/CB",
    "https://app.example:443/cb", "https://app.example/cb?x=1", "https://app.example/cb#f",
    "https://app.example/cb#", "https://app.example/cb/", "https://app.example/c",
    "HTTPS://app.example/cb", "https://APP.example/cb", "http://app.example/cb",
    "https://app.example/cb ", " https://app.example/cb", "https://app.example/%63b",
    "https://app.example@evil.tld/cb", "https://evil.tld\\@app.example/cb",
    "https://app.example.evil.tld/cb", "https://аpp.example/cb", "",
])
def test_match_refuses_variants_items_1_2(requested):
    assert match_redirect_uri(requested, [C]) is None


@pytest.mark.parametrize("registered, requested", [
    (L, "http://127.0.0.1:51004/cb"),
    (L, "http://127.0.0.1:1/cb"),
    (L, "http://127.0.0.1:65535/cb"),
    ("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb"),
    ("http://127.0.0.1:8080/cb", "http://127.0.0.1:9090/cb"),
    ("http://[::1]/cb", "http://[::1]:4000/cb"),
    ("http://127.0.0.1/cb?a=1", "http://127.0.0.1:4000/cb?a=1"),
    ("http://127.0.0.1", "http://127.0.0.1:4000"),
])
def test_match_loopback_any_port_item_5(registered, requested):
    assert match_redirect_uri(requested, [registered]) == requested


@pytest.mark.parametrize("requested", [
    "http://127.0.0.1:51004/cb2", "http://127.0.0.1.evil.tld/cb", "http://127.0.0.1:51004.evil.tld/cb",
    "http://127.0.0.1:51004/cb?x=1", "http://127.0.0.1:51004/cb#f", "http://127.0.0.1:/cb",
    "http://127.0.0.1:0/cb", "http://127.0.0.1:65536/cb", "http://127.0.0.1:051004/cb",
    "http://127.0.0.1:5x/cb", "http://[::1]:51004/cb", "http://localhost:51004/cb",
    "https://127.0.0.1:51004/cb", "HTTP://127.0.0.1:51004/cb", "http://127.0.0.1:51004/CB",
    "http://evil@127.0.0.1:51004/cb", "http://127.0.0.1:51004@evil.tld/cb",
    "http://127.0.0.1:51004\\@evil.tld/cb", "http://127.0.0.1:51004/cb\n",
])
def test_match_loopback_refuses_other_changes_item_5(requested):
    assert match_redirect_uri(requested, [L]) is None


def test_match_localhost_any_port_as_spec_says():
    # SPEC §3: "a loopback URI matches on any port"; localhost is loopback there.
    assert match_redirect_uri("http://localhost:3000/cb", ["http://localhost/cb"]) == "http://localhost:3000/cb"
    assert match_redirect_uri("http://localhost:3000/cb2", ["http://localhost/cb"]) is None
    assert match_redirect_uri("http://localhost/cb", ["http://localhost/cb"]) == "http://localhost/cb"


REGISTERED = [C, L, "http://[::1]:8080/cb?x=1", "http://localhost/cb", "com.example.app:/cb"]
_LOOPBACK_VARIANTS = {
    L: ["http://127.0.0.1{}/cb"],
    "http://[::1]:8080/cb?x=1": ["http://[::1]{}/cb?x=1"],
    "http://localhost/cb": ["http://localhost{}/cb"],
}


_PORTS = [""] + [f":{p}" for p in range(1, 65536)]
_VARIANTS = {uri: {t.format(port) for t in templates for port in _PORTS}
             for uri, templates in _LOOPBACK_VARIANTS.items()}


def _oracle(requested: str, registered: str) -> bool:
    """Independent statement of the rule: equal, or equal after choosing some port."""
    return requested == registered or requested in _VARIANTS.get(registered, ())


def _mutations(draw_source):
    return st.builds(
        lambda uri, i, ch, mode: (uri[:i] + ch + uri[i:] if mode == 0 else
                                  uri[:i] + uri[i + 1:] if mode == 1 else
                                  uri[:i] + ch + uri[i + 1:]),
        draw_source, st.integers(0, 40), st.sampled_from(list(":/.?#@\\1aA0 %")), st.integers(0, 2))


_PORT_VARIANTS = st.builds(
    lambda t, p: t.format(p),
    st.sampled_from(["http://127.0.0.1{}/cb", "http://[::1]{}/cb?x=1", "http://localhost{}/cb",
                     "https://app.example{}/cb"]),
    st.one_of(st.just(""), st.integers(0, 70000).map(lambda p: f":{p}"),
              st.integers(0, 999).map(lambda p: f":0{p}")))


@settings(max_examples=400)
@given(
    requested=st.one_of(st.text(max_size=40), st.sampled_from(REGISTERED), _PORT_VARIANTS,
                        _mutations(st.sampled_from(REGISTERED)), _mutations(_PORT_VARIANTS)),
    registered=st.lists(st.sampled_from(REGISTERED), min_size=1, max_size=3, unique=True),
)
def test_match_accepts_iff_equal_or_loopback_port_variant(requested, registered):
    expected = any(_oracle(requested, uri) for uri in registered)
    got = match_redirect_uri(requested, registered)
    assert (got is not None) == expected
    assert got is None or got == requested


# --- scopes --------------------------------------------------------------------------

def test_core_scopes_exact():
    assert CORE_SCOPES == {
        "profile": "Read your profile",
        "friends:read": "See your friends, friend requests and suggestions",
        "friends:write": "Send, accept and decline friend requests; remove friends",
        "event:read": "See events, including your unpublished ones",
        "event:write": "Create, update and delete your events",
        "notifications": "See your notifications, and send them to your devices as push notifications",
    }


def test_registry_starts_with_core():
    reg = ScopeRegistry()
    assert reg.names() == ["profile", "friends:read", "friends:write", "event:read", "event:write", "notifications"]
    assert "profile" in reg and "admin" not in reg and 3 not in reg
    assert reg.describe("event:write") == "Create, update and delete your events"


def test_registry_extra_scopes_from_constructor():
    reg = ScopeRegistry({"zz:top": "Z", "aa:bottom": "A"})
    assert reg.names()[:6] == list(CORE_SCOPES)
    assert reg.names()[6:] == ["aa:bottom", "zz:top"]


def test_registry_instances_are_independent():
    ScopeRegistry().add("checkins:read", "See check-ins", "checkins")
    assert "checkins:read" not in ScopeRegistry()
    assert "checkins:read" not in CORE_SCOPES


def test_registry_add_plugin_scopes_sorted_after_core():
    reg = ScopeRegistry()
    reg.add("checkins:write", "Check in to events", "checkins")
    reg.add("badges:read", "See your badges", "badges")
    assert reg.names() == list(CORE_SCOPES) + ["badges:read", "checkins:write"]
    assert reg.describe("checkins:write") == "Check in to events"
    assert "checkins:write" in reg


def test_registry_clash_names_both_owners():
    reg = ScopeRegistry()
    reg.add("checkins:read", "See check-ins", "checkins")
    with pytest.raises(ValueError, match="'other'.*'checkins:read'.*'checkins'"):
        reg.add("checkins:read", "Something else", "other")
    with pytest.raises(ValueError, match="'evil'.*'core'"):
        reg.add("event:write", "Not what you think", "evil")


@pytest.mark.parametrize("name", ["checkins", "Checkins:read", "checkins:Read", "1x:read", "x:1read",
                                  "x:read:more", "x-y:read", ":read", "x:", "x: read", "profile", ""])
def test_registry_add_bad_name_names_owner(name):
    with pytest.raises(ValueError, match="plugin 'myplugin'"):
        ScopeRegistry().add(name, "desc", "myplugin")


def test_registry_add_needs_description():
    with pytest.raises(ValueError, match="description"):
        ScopeRegistry().add("x:read", "", "x")


def test_registry_describe_unknown_is_key_error():
    with pytest.raises(KeyError):
        ScopeRegistry().describe("nope")


def test_parse_scopes():
    reg = ScopeRegistry()
    assert params.parse_scope(reg, "profile event:read") == frozenset({"profile", "event:read"})
    assert params.parse_scope(reg, "  profile   profile  event:read ") == frozenset({"profile", "event:read"})
    assert params.parse_scope(reg, None) == frozenset()
    assert params.parse_scope(reg, "") == frozenset()
    assert params.parse_scope(reg, "   ") == frozenset()


def test_parse_unknown_scopes_named():
    with pytest.raises(InvalidScope, match="unknown scope: admin write"):
        params.parse_scope(ScopeRegistry(), "profile write admin")


def test_parse_is_case_sensitive():
    with pytest.raises(InvalidScope, match="PROFILE"):
        params.parse_scope(ScopeRegistry(), "PROFILE")


@pytest.mark.parametrize("value", ['profile "x"', "profile a\\b", "profile\tevent:read", "profilé",
                                   "profile\x00", "profile\nevent:read"])
def test_parse_malformed_tokens(value):
    with pytest.raises(InvalidScope, match="malformed") as info:
        params.parse_scope(ScopeRegistry(), value)
    assert info.value.description.isascii()


def test_scope_token_regex():
    assert SCOPE_TOKEN.fullmatch("!#[]~") and not SCOPE_TOKEN.fullmatch('"')
    assert not SCOPE_TOKEN.fullmatch("\\") and not SCOPE_TOKEN.fullmatch(" ")
    assert PLUGIN_SCOPE.fullmatch("check_ins:read_all") and not PLUGIN_SCOPE.fullmatch("a:b:c")


def test_format_scope_sorted():
    assert format_scope({"profile", "event:write", "checkins:read"}) == \
        "checkins:read event:write profile"
    assert format_scope([]) == ""


@given(st.sets(st.sampled_from(list(CORE_SCOPES))))
def test_format_then_parse_roundtrip(scopes):
    reg = ScopeRegistry()
    assert params.parse_scope(reg, format_scope(scopes)) == frozenset(scopes)


@given(st.text(max_size=40))
def test_parse_only_raises_invalid_scope(value):
    try:
        result = params.parse_scope(ScopeRegistry(), value)
    except InvalidScope:
        return
    assert result <= set(CORE_SCOPES)


# --- module hygiene ------------------------------------------------------------------

@pytest.mark.parametrize("module", [errors, params, pkce, redirect_uris])
def test_protocol_modules_are_framework_free(module):
    source = open(module.__file__, encoding="utf-8").read()
    assert "tornado" not in source
    assert module.__doc__ and "RFC" in module.__doc__
