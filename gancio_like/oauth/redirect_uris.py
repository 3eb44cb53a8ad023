"""Redirect URI registration rules and matching.

RFC 6749 §3.1.2 (absolute, no fragment) and §3.1.2.2/§3.1.2.3 (registration and
comparison), RFC 8252 §7.1 (private-use URI schemes), §7.3 (loopback redirects on
any port), RFC 9700 §2.1 and §4.1.3 (exact string matching), RFC 7591 §2 and
§3.2.2 (`redirect_uris` metadata, `invalid_redirect_uri`).
"""
from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from .errors import InvalidClientMetadata, InvalidRedirectURI

MAX_URI_LENGTH = 2000
MAX_REDIRECT_URIS = 10
LOOPBACK_HOSTS = {"127.0.0.1", "[::1]", "::1", "localhost"}

# Reached only for clarity of the message: none of them contains a dot, so the
# private-use rule below would refuse them as well.
_FORBIDDEN_SCHEMES = {"javascript", "data", "file", "vbscript"}
# RFC 3986 URIs are ASCII. Refusing everything else (spaces, controls, Unicode)
# removes IDN homoglyphs and characters that browsers strip or reinterpret.
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
# A DNS name, IPv4 address or (unbracketed, as urlsplit returns it) IPv6 address.
# Excludes '%' (percent-decoded hosts differ between parsers), ';', '*' and friends.
_HOST = re.compile(r"[a-z0-9._:-]+")
# RFC 8252 §7.3 port matching applies to loopback IP literals only, not "localhost".
_LOOPBACK_IP_URI = re.compile(r"(http://(?:127\.0\.0\.1|\[::1\]|localhost))(?::([1-9][0-9]{0,4}))?([/?].*)?")


def is_loopback_host(host: str) -> bool:
    return host.lower() in LOOPBACK_HOSTS


def validate_redirect_uri(uri: str) -> None:
    """Raise InvalidRedirectURI unless `uri` may be registered as a redirect URI."""
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidRedirectURI(f"redirect URI longer than {MAX_URI_LENGTH} characters")
    if not _PRINTABLE_ASCII.fullmatch(uri):
        raise InvalidRedirectURI("redirect URI must be printable ASCII without spaces")
    if "#" in uri:  # even an empty fragment (RFC 6749 §3.1.2)
        raise InvalidRedirectURI("redirect URI must not contain a fragment")
    # Browsers read '\' as '/' in http(s) URLs, so "https://evil\@app.example/" is
    # parsed differently here and there; it is not a URI character at all.
    if "\\" in uri:
        raise InvalidRedirectURI("redirect URI must not contain a backslash")
    parts = _split(uri)
    _check_scheme(parts)
    _check_authority(parts)


def _split(uri: str) -> SplitResult:
    try:
        parts = urlsplit(uri)
        parts.port  # parsed lazily: raises ValueError for a bad or out-of-range port
    except ValueError as exc:
        raise InvalidRedirectURI(f"unparseable redirect URI: {exc}") from None
    return parts


def _check_scheme(parts: SplitResult) -> None:
    scheme = parts.scheme  # urlsplit lower-cases it, so "JavaScript:" is caught
    if not scheme:
        raise InvalidRedirectURI("redirect URI must be absolute")
    if scheme in _FORBIDDEN_SCHEMES:
        raise InvalidRedirectURI(f"the {scheme}: scheme is not allowed")
    if scheme == "https":
        if not parts.hostname:
            raise InvalidRedirectURI("https redirect URI needs a host")
    elif scheme == "http":
        # Plain http is only safe where the response never leaves the machine.
        if not is_loopback_host(parts.hostname or ""):
            raise InvalidRedirectURI("http is allowed only on loopback (127.0.0.1, [::1], localhost)")
    elif "." not in scheme:
        raise InvalidRedirectURI(
            "a private-use scheme must be a reverse domain name such as com.example.app")


def _check_authority(parts: SplitResult) -> None:
    # Userinfo makes "https://app.example@evil.tld/" look like app.example to a person.
    if "@" in parts.netloc:
        raise InvalidRedirectURI("redirect URI must not contain userinfo")
    host = parts.hostname
    if host is None:
        return
    if "*" in host:
        raise InvalidRedirectURI("wildcards are not allowed in redirect URIs")
    if not _HOST.fullmatch(host):
        raise InvalidRedirectURI("redirect URI host must be a DNS name or an IP address")


def validate_redirect_uris(value: object) -> list[str]:
    """Registered redirect URIs from a JSON array or a space-separated string."""
    if isinstance(value, str):
        uris = [uri for uri in value.split(" ") if uri]
    elif isinstance(value, list):
        uris = value
    else:
        raise InvalidClientMetadata("redirect_uris must be an array or a space-separated string")
    if not uris:
        raise InvalidRedirectURI("at least one redirect URI is required")
    # Checked before validating each entry, so a huge array costs nothing.
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidClientMetadata(f"at most {MAX_REDIRECT_URIS} redirect URIs are allowed")
    for uri in uris:
        if not isinstance(uri, str):
            raise InvalidClientMetadata("each redirect URI must be a string")
        validate_redirect_uri(uri)
    return list(dict.fromkeys(uris))


def match_redirect_uri(requested: str | None, registered: list[str]) -> str | None:
    """The redirect URI to use for this request, or None when it does not match."""
    if requested is None:
        # Omission is unambiguous only with a single registered URI (RFC 6749 §3.1.2.3).
        return registered[0] if len(registered) == 1 else None
    for uri in registered:
        # Exact string comparison (RFC 9700 §4.1.3): no normalisation, no prefixes.
        if requested == uri or _is_loopback_port_variant(requested, uri):
            return requested
    return None


def _is_loopback_port_variant(requested: str, registered: str) -> bool:
    # RFC 8252 §7.3: native apps get an ephemeral port, so the port may differ while
    # scheme, host, path and query stay byte-identical. SPEC §3 counts `localhost`
    # as loopback too (the RFC only recommends the IP literals).
    base = _without_loopback_port(registered)
    return base is not None and base == _without_loopback_port(requested)


def _without_loopback_port(uri: str) -> str | None:
    match = _LOOPBACK_IP_URI.fullmatch(uri)
    if match is None:
        return None
    origin, port, rest = match.groups()
    if port is not None and int(port) > 65535:
        return None
    return origin + (rest or "")
