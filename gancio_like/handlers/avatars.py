"""`GET /avatars/NAME` and `GET /avatars/remote/ACCT`: everyone's picture (SPEC §2).

The URL of an upload carries its version (`?v=`), so that answer may be cached for a
year; a generated picture (its initials follow the display name), a remote copy and
an outdated version are cached for an hour, then revalidated by ETag. Every answer is
an image Fync encoded itself, sent with `nosniff` and a Content-Security-Policy that
lets nothing run, should anyone open it as a document.
"""
from __future__ import annotations

from ..errors import NotFound
from ..images import Picture
from ..services.friends import parse_acct
from .base import PageHandler

IMAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",  # other instances' pages may show it
}
FOR_EVER = "public, max-age=31536000, immutable"
AN_HOUR = "public, max-age=3600"


class PictureHandler(PageHandler):
    """No session is read: a picture is the same for everyone."""

    async def prepare(self) -> None:
        self.session_token, self.current_user = None, None

    def send(self, picture: Picture, cache: str) -> None:
        for name, value in IMAGE_HEADERS.items():
            self.set_header(name, value)
        self.set_header("Content-Type", picture.media_type)
        self.set_header("Cache-Control", cache)
        self.finish(picture.data)


class AvatarHandler(PictureHandler):
    async def get(self, username: str) -> None:
        found = await self.fync.avatars.local(username)
        if found is None:
            raise NotFound("user")
        picture, version = found
        current = version > 0 and self.get_query_argument("v", "") == str(version)
        self.send(picture, FOR_EVER if current else AN_HOUR)


class RemoteAvatarHandler(PictureHandler):
    async def get(self, acct: str) -> None:
        name, domain = parse_acct(self.cfg.domain, acct)
        if domain is None:  # one of ours: their own URL has the version
            return self.redirect(f"/avatars/{name}")
        self.send(await self.fync.avatars.remote(f"{name}@{domain}"), AN_HOUR)


ROUTES = [
    (r"/avatars/remote/([^/]+)", RemoteAvatarHandler),
    (r"/avatars/([a-z0-9_]{1,30})", AvatarHandler),
]
