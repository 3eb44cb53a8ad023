"""The Fync app's server side (SPEC §9): the shell under /app/ and its headers, the web app
manifest and icons, the service worker, the app's own Client ID Metadata Document (served,
and recognized without fetching it), the consent page naming it, and the QR codes."""
from __future__ import annotations

import dataclasses

import json
import re
import shutil
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from gancio_like import net
from gancio_like.handlers import pwa
from confirm_helpers import confirm
from oauth_helpers import api, authorize_url, consent, pkce_pair, token_request

SHELL = Path(pwa.__file__).parent.parent / "app_shell"
APP_SCOPES = "profile friends:read friends:write event:read event:write"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, after checking the signature and the chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29])
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def no_fetch(app, monkeypatch):
    """Records (and refuses) every metadata document fetch; the own app must need none."""
    fetched = []

    async def refuse(url, **kwargs):
        fetched.append(url)
        raise net.FetchError("no fetching in this test")
    # Protocol code fetches through the function the instance handed its OAuth context.
    monkeypatch.setattr(app, "oauth", dataclasses.replace(app.oauth, fetch_json=refuse))
    yield fetched
    assert fetched == [], f"fetched {fetched}"


async def app_login(browser, base_url: str, scope: str = APP_SCOPES, untick=()) -> dict:
    """What the app does (a logged-in browser): authorize as the own client with PKCE, consent, exchange."""
    client_id, redirect = f"{base_url}/app/client.json", f"{base_url}/app/"
    verifier, challenge = pkce_pair()
    r = await consent(browser, authorize_url(client_id, redirect_uri=redirect, scope=scope, challenge=challenge,
                                             state="s1"), untick=untick)
    assert r.code in (302, 303), r.text
    params = r.location_params()
    assert r.location.startswith(redirect) and params["state"] == "s1" and params["iss"] == base_url
    r = await token_request(browser, {"grant_type": "authorization_code", "code": params["code"],
                                      "code_verifier": verifier, "redirect_uri": redirect}, client_id)
    assert r.code == 200, r.text
    return r.json()


# -- the shell ---------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_app_page_is_the_shell_with_page_security_headers(browser):
    r = await browser.get("/app/")
    assert r.code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers["X-Frame-Options"] == "DENY"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["Cache-Control"] == "no-cache"
    assert '<link rel="manifest" href="manifest.webmanifest">' in r.text
    r = await browser.get("/app")
    assert r.code == 301 and r.location == "/app/"


def test_the_shell_needs_no_inline_script_or_style():
    """Under `default-src 'self'` inline code would not run: every script and style is a file."""
    for path in SHELL.rglob("*.html"):
        html = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
    for path in SHELL.rglob("*.js"):
        js = path.read_text()
        assert "innerHTML" not in js and "eval(" not in js and "new Function" not in js, path


def test_the_page_preloads_every_module():
    """One round of fetches, not a waterfall of imports: each module is named in index.html
    (the first view from the service worker's cache is measured in tests/browser)."""
    html = (SHELL / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', html))
    modules = {p.relative_to(SHELL).as_posix() for p in (SHELL / "js").rglob("*.js")} - {"js/main.js"}
    assert preloaded == modules
    assert '<script type="module" src="js/main.js"></script>' in html


@pytest.mark.gen_test
async def test_every_precached_file_is_served(browser):
    urls, _ = pwa.shell_files()
    assert "/app/" in urls and "/app/js/main.js" in urls and "/app/app.css" in urls
    assert "/app/sw.js" not in urls
    for url in urls:
        r = await browser.get(url)
        assert r.code == 200, url
        if url.endswith(".js"):
            assert r.headers["Content-Type"].startswith("text/javascript"), url


@pytest.mark.gen_test
async def test_files_outside_the_shell_are_not_served(browser):
    for path in ("/app/../setup.cfg", "/app/%2e%2e/handlers/pwa.py", "/app/nothing.js"):
        assert (await browser.get(path)).code in (403, 404), path


@pytest.mark.gen_test
async def test_manifest_has_what_makes_the_app_installable(browser):
    r = await browser.get("/app/manifest.webmanifest")
    assert r.code == 200 and r.headers["Content-Type"] == "application/manifest+json"
    manifest = r.json()
    assert manifest["id"] == manifest["start_url"] == manifest["scope"] == "/app/"
    assert manifest["name"] == "Fync" and manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    sizes = {}
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png"
        image = await browser.get("/app/" + icon["src"])
        assert image.code == 200 and image.headers["Content-Type"] == "image/png"
        width, height = png_size(image.body)
        assert icon["sizes"] == f"{width}x{height}"
        sizes.setdefault(icon["purpose"], set()).add(width)
    assert {192, 512} <= sizes["any"] and sizes["maskable"]


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("instance", "name"): "Hill Walkers of Wessex"}])
async def test_manifest_names_the_instance(browser, config_overrides):
    manifest = (await browser.get("/app/manifest.webmanifest")).json()
    assert manifest["name"] == "Hill Walkers of Wessex"
    assert len(manifest["short_name"]) <= 12


@pytest.mark.gen_test
async def test_service_worker_is_never_cached_and_knows_the_shell(browser):
    r = await browser.get("/app/sw.js")
    assert r.code == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert r.headers["Cache-Control"] == "no-cache"
    head = r.text.splitlines()[0]
    shell = json.loads(head.removeprefix("const SHELL = ").removesuffix(";"))
    urls, version = pwa.shell_files()
    assert shell == {"version": version, "files": list(urls)}
    assert "import " in r.text  # the rest is the worker itself


def test_the_shell_version_follows_every_file(tmp_path):
    copy = tmp_path / "shell"
    shutil.copytree(SHELL, copy)
    _, before = pwa.shell_files(copy)
    pwa.shell_files.cache_clear()
    (copy / "js" / "dom.js").write_text((copy / "js" / "dom.js").read_text() + "\n// changed\n")
    _, after = pwa.shell_files(copy)
    assert before != after
    (copy / "icons" / "icon-192.png").write_bytes(b"x")
    pwa.shell_files.cache_clear()
    assert pwa.shell_files(copy)[1] not in (before, after)


# -- the own client --------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_client_document_describes_the_app(browser, base_url):
    r = await browser.get("/app/client.json")
    assert r.code == 200 and r.headers["Content-Type"] == "application/json"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    doc = r.json()
    assert doc["client_id"] == f"{base_url}/app/client.json"
    assert doc["redirect_uris"] == [f"{base_url}/app/"]
    assert doc["token_endpoint_auth_method"] == "none"
    assert doc["client_name"] == "Fync app"
    # Only scopes this instance knows (the app also asks for `notifications` where it exists).
    known = (await browser.get("/.well-known/oauth-authorization-server")).json()["scopes_supported"]
    assert set(doc["scope"].split()) == set(APP_SCOPES.split() + ["notifications"]) & set(known)
    assert set(APP_SCOPES.split()) <= set(doc["scope"].split())


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("oauth", "registration"): "closed"}])
async def test_own_app_logs_in_without_a_fetch_even_with_registration_closed(
        browser, make_user, base_url, no_fetch, config_overrides):
    await make_user("alice")
    await browser.login("alice")
    tokens = await app_login(browser, base_url)
    assert set(tokens["scope"].split()) == set(APP_SCOPES.split())
    me = await api(browser, "/api/me", tokens["access_token"])
    assert me.code == 200 and me.json()["username"] == "alice"
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            f"{base_url}/app/client.json")
    assert r.code == 200 and r.json()["refresh_token"] != tokens["refresh_token"]


@pytest.mark.gen_test
async def test_own_app_cannot_redirect_elsewhere(browser, make_user, base_url, no_fetch):
    await make_user("alice")
    await browser.login("alice")
    _, challenge = pkce_pair()
    r = await browser.get(authorize_url(f"{base_url}/app/client.json", redirect_uri="https://evil.example/app/",
                                        challenge=challenge))
    assert r.code == 400 and "evil" not in (r.location or "")


@pytest.mark.gen_test
async def test_own_app_needs_pkce(browser, make_user, base_url, no_fetch):
    await make_user("alice")
    await browser.login("alice")
    r = await browser.get(authorize_url(f"{base_url}/app/client.json", redirect_uri=f"{base_url}/app/"))
    assert r.code in (302, 303) and r.location_params()["error"] == "invalid_request"


@pytest.mark.gen_test
async def test_consent_page_names_the_instances_own_app(browser, make_user, base_url, no_fetch):
    await make_user("alice")
    await browser.login("alice")
    _, challenge = pkce_pair()
    page = await browser.get(authorize_url(f"{base_url}/app/client.json", redirect_uri=f"{base_url}/app/",
                                           scope=APP_SCOPES, challenge=challenge))
    assert page.code == 200
    assert "Connect Fync app?" in page.text
    assert "This is Fync&#x27;s own app, served by this instance" in page.text  # translated text is escaped
    assert "has not reviewed it" not in page.text


@pytest.mark.gen_test
async def test_another_metadata_document_app_is_not_called_own(browser, make_user, no_fetch, base_url):
    """Only the exact own URL skips the fetch: a look-alike is fetched (here: refused)."""
    await make_user("alice")
    await browser.login("alice")
    _, challenge = pkce_pair()
    r = await browser.get(authorize_url(f"{base_url}/app/client.json?x=1", redirect_uri=f"{base_url}/app/",
                                        challenge=challenge))
    assert r.code == 400
    assert no_fetch == [f"{base_url}/app/client.json?x=1"]
    no_fetch.clear()


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("instance", "name"): "Wessex"}])
async def test_own_client_row_follows_the_configuration(app, browser, make_user, base_url, no_fetch, config_overrides):
    from gancio_like.oauth import cimd
    from gancio_like.storage import clients as client_store
    client_id = f"{base_url}/app/client.json"
    async with app.db.transaction() as tx:  # as an older configuration left it
        await client_store.upsert_cimd_client(tx, client_id=client_id, name="Old name app", website="x",
                                              redirect_uris=[f"{base_url}/app/"], scopes="profile",
                                              expires_at=0, now=0)
    client = await cimd.find_cimd_client(app.oauth, client_id)
    assert client.name == "Wessex app" and set(APP_SCOPES.split()) <= client.scopes
    assert cimd.is_own_client(app.cfg, client)


@pytest.mark.gen_test
async def test_own_app_is_listed_in_settings_apps_and_revoking_it_ends_its_tokens(browser, make_user, base_url, no_fetch):
    await make_user("alice")
    await browser.login("alice")
    tokens = await app_login(browser, base_url)
    page = await browser.get("/settings/apps")
    assert "Fync app" in page.text
    r = await confirm(browser, "/settings/apps/revoke", {"client_id": f"{base_url}/app/client.json"})
    assert r.code == 303
    r = await api(browser, "/api/me", tokens["access_token"])
    assert r.code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = await token_request(browser, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            f"{base_url}/app/client.json")
    assert r.code == 400 and r.json()["error"] == "invalid_grant"


# -- QR codes ----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_qr_code_of_a_persons_address(browser, make_user, base_url):
    await make_user("alice")
    r = await browser.get("/u/alice/qr.svg")
    assert r.code == 200 and r.headers["Content-Type"] == "image/svg+xml"
    assert "max-age" in r.headers["Cache-Control"]
    root = ET.fromstring(r.body)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}title").text == f"{base_url}/@alice"
    assert root.find(".//{http://www.w3.org/2000/svg}path") is not None


def dark_modules(svg: bytes) -> set[tuple[int, int]]:
    """The (row, column) of every dark module an SVG QR code draws: its path is moves
    (`M`, relative `m`) and horizontal runs (`h`) along the middle of each row."""
    root = ET.fromstring(svg)
    d = next(p.get("d") for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("stroke"))
    x = y = 0.0
    dark = set()
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", d):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark |= {(int(y), int(x) + i) for i in range(int(a))}
            x += float(a)
    return dark


@pytest.mark.gen_test
async def test_qr_code_draws_exactly_the_code_of_the_address(browser, make_user, base_url):
    import segno
    await make_user("bob")
    served = dark_modules((await browser.get("/u/bob/qr.svg")).body)
    code = segno.make(f"{base_url}/@bob", error="m", micro=False)
    border = 4
    expected = {(r + border, c + border) for r, row in enumerate(code.matrix) for c, v in enumerate(row) if v}
    assert served == expected
    assert served != dark_modules(pwa.qr_svg(f"{base_url}/@bobby"))


@pytest.mark.gen_test
async def test_no_qr_code_for_nobody(browser):
    assert (await browser.get("/u/nobody/qr.svg")).code == 404
    assert (await browser.get("/u/a%2Fb/qr.svg")).code == 404


@pytest.mark.gen_test
async def test_an_admin_can_disable_the_own_app_and_it_stays_disabled(app, browser, make_user, base_url, no_fetch):
    from gancio_like.services import moderation
    await make_user("alice")
    await browser.login("alice")
    tokens = await app_login(browser, base_url)
    await moderation.disable(app.db, f"{base_url}/app/client.json")  # `fync client disable URL`
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 401
    _, challenge = pkce_pair()
    for _ in range(2):  # a second look at the configuration does not switch it back on
        r = await browser.get(authorize_url(f"{base_url}/app/client.json", redirect_uri=f"{base_url}/app/",
                                            challenge=challenge))
        assert r.code == 400
