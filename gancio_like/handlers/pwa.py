"""The Fync app (SPEC §9): the shell's files under `/app/`, its web app manifest, its
service worker, its Client ID Metadata Document, and the "my code" QR images.

The shell is plain files (gancio_like/app_shell/) that talk to the public API only.
Everything here is public and the same for everyone; nothing reads a session.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
from pathlib import Path

import segno
import tornado.web

from ..oauth import cimd
from ..services import accounts
from .base import PAGE_HEADERS, BaseHandler

SHELL = Path(__file__).parent.parent / "app_shell"
THEME = "#2f6f5e"  # favicon.svg's green
BACKGROUND = "#ffffff"
SERVICE_WORKER = "sw.js"


@functools.cache
def shell_files(root: Path = SHELL) -> tuple[tuple[str, ...], str]:
    """(the URLs the service worker precaches, a version derived from every file's bytes).

    The version changes whenever any file does, so a deploy gives sw.js new bytes, the
    browser installs the new worker, and it fills a new cache (SPEC §9: works offline)."""
    digest = hashlib.sha256()
    urls = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        if name != SERVICE_WORKER:
            urls.append(cimd.OWN_APP_PATH + ("" if name == "index.html" else name))
    return tuple(urls), digest.hexdigest()[:16]


class AppHandler(BaseHandler):
    """The app's generated files: page security headers, revalidated on every use."""

    def set_default_headers(self) -> None:
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)
        self.set_header("Cache-Control", "no-cache")

    def write_json_as(self, content_type: str, data: dict) -> None:
        self.set_header("Content-Type", content_type)
        self.finish(json.dumps(data, indent=1))


class ShellFileHandler(tornado.web.StaticFileHandler):
    """index.html, the JS modules, CSS and icons. `no-cache`: the names carry no version,
    so the browser asks (cheaply, with ETag) each time; offline the service worker answers."""

    def set_default_headers(self) -> None:
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")

    def get_content_type(self) -> str:
        if self.absolute_path.endswith(".js"):  # whatever the host's mime.types says
            return "text/javascript; charset=utf-8"
        return super().get_content_type()


class ServiceWorkerHandler(AppHandler):
    """`/app/sw.js`: the worker's source with the shell's list and version put in front."""

    def get(self) -> None:
        urls, version = shell_files()
        header = f"const SHELL = {json.dumps({'version': version, 'files': urls})};\n"
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.finish(header + (SHELL / SERVICE_WORKER).read_text(encoding="utf-8"))


class ManifestHandler(AppHandler):
    """`/app/manifest.webmanifest` (W3C Web App Manifest): what makes the app installable."""

    def get(self) -> None:
        name = self.cfg.instance.name
        icons = [{"src": f"icons/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png",
                  "purpose": "any"} for size in (192, 512)]
        icons.append({"src": "icons/maskable-512.png", "sizes": "512x512", "type": "image/png",
                      "purpose": "maskable"})
        self.write_json_as("application/manifest+json", {
            "id": cimd.OWN_APP_PATH, "name": name, "short_name": name if len(name) <= 12 else "Fync",
            "description": f"Your friends and events on {name}, also offline.",
            "start_url": cimd.OWN_APP_PATH, "scope": cimd.OWN_APP_PATH, "display": "standalone",
            "theme_color": THEME, "background_color": BACKGROUND, "lang": "en", "icons": icons})


class ClientDocumentHandler(AppHandler):
    """`/app/client.json`: the app's Client ID Metadata Document (SPEC §3, §9). This
    instance never fetches it (oauth/cimd.py builds the same from its configuration);
    it is served so others can see what the app is, like any other app's document."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Access-Control-Allow-Origin", "*")

    def get(self) -> None:
        self.write_json_as("application/json", cimd.own_document(self.cfg, self.fync.scopes))


class AppRootHandler(BaseHandler):
    def get(self) -> None:
        self.redirect(cimd.OWN_APP_PATH, permanent=True)


class QrCodeHandler(AppHandler):
    """`/u/NAME/qr.svg`: a QR code of the person's address `{public_url}/@NAME`, to
    befriend them in person ("my code" in the app)."""

    async def get(self, username: str) -> None:
        user = await accounts.find_person(self.db, username)
        if user is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "image/svg+xml")
        self.set_header("Cache-Control", "public, max-age=86400")
        self.finish(qr_svg(f"{self.cfg.issuer}/@{user.username}"))


def qr_svg(text: str) -> bytes:
    """An SVG QR code of `text` (error correction M: still reads when a screen glares)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out, kind="svg", scale=8, border=4, xmldecl=False, title=text, dark="#000", light="#fff")
    return out.getvalue()


ROUTES = [
    (r"/app", AppRootHandler),
    (r"/app/sw\.js", ServiceWorkerHandler),
    (r"/app/manifest\.webmanifest", ManifestHandler),
    (r"/app/client\.json", ClientDocumentHandler),
    (r"/app/(.*)", ShellFileHandler, {"path": str(SHELL), "default_filename": "index.html"}),
    (r"/u/([^/]+)/qr\.svg", QrCodeHandler),
]
