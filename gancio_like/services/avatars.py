"""Everyone's picture (SPEC §2 "More about accounts", §4 `avatar`, §6 `icon`).

A local person's picture is their upload, re-encoded (gancio_like/images.py), or a
generated one. A remote person's is a copy of their actor's `icon`, fetched through the
federation guard (gancio_like/net.py: https, public addresses, no redirects, capped in
time and size) when it is first shown after their actor was fetched, and re-encoded the
same way as an upload: Fync never passes on bytes it has not decoded. Without an icon,
or while it cannot be fetched, they get a generated picture too.

Decoding is CPU work of up to a few hundred milliseconds and ~160 MB at worst, so it
runs in a thread, one picture at a time; a picture asked for by many pages at once is
fetched once.
"""
from __future__ import annotations

import asyncio
import logging
import time

from .. import clock, images, net
from ..errors import ValidationError
from ..images import Picture
from ..storage import avatars as store
from ..storage.db import Database

log = logging.getLogger("fync")
FETCH_TIMEOUT = 5.0
RETRY_FAILED = 3600  # seconds before a picture that could not be fetched is tried again
# What POST /settings may carry (httpguard): the picture, its multipart wrapping, and a
# margin, so a picture a little over 5 MB is told so on the page rather than by a bare 413.
UPLOAD_BODY_LIMIT = images.MAX_BYTES + 1024 * 1024


class Avatars:
    """The instance's pictures: uploads and remote copies decoded off the event loop."""

    def __init__(self, db: Database, fetch_allowed: bool, allow_private: bool):
        self.db = db
        self.fetch_allowed, self.allow_private = fetch_allowed, allow_private
        self._decoding = asyncio.Semaphore(1)
        self._fetching: dict[str, asyncio.Task] = {}

    async def decode(self, data: bytes) -> Picture:
        """`images.square_avatar` in a thread, one at a time."""
        async with self._decoding:
            return await asyncio.get_running_loop().run_in_executor(None, images.square_avatar, data)

    # -- local people ---------------------------------------------------------------------

    async def upload(self, user_id: int, data: bytes) -> int:
        """Store an uploaded file as the person's picture → its new version. A file that is
        not a picture Fync takes is a ValidationError, and nothing is stored."""
        try:
            picture = await self.decode(data)
        except images.ImageRefused as exc:
            raise ValidationError(str(exc), "avatar") from None
        # Versions count milliseconds: an upload, a removal and another upload take longer.
        floor = time.time_ns() // 1_000_000
        async with self.db.transaction() as tx:
            return await store.upsert_avatar(tx, user_id, picture.data, picture.media_type, clock.now(), floor)

    async def remove(self, user_id: int) -> None:
        """Back to the generated picture."""
        async with self.db.transaction() as tx:
            await store.delete_avatar(tx, user_id)

    async def local(self, username: str) -> tuple[Picture, int] | None:
        """(picture, current version) of a local person; None if nobody has that name."""
        found = await store.get_avatar(self.db, username)
        if found is None:
            return None
        if found.image is not None:
            return Picture(found.image, found.media_type), found.version
        return generated(found.display_name, found.username), 0

    # -- remote people --------------------------------------------------------------------

    async def remote(self, acct: str) -> Picture:
        """A remote person's picture: the copy of their icon (fetched first if it is due)."""
        found = await store.get_remote_avatar(self.db, acct)
        if found is not None and self._due(found):
            await self._fetch_once(found)
            found = await store.get_remote_avatar(self.db, acct)
        if found is not None and found.image is not None:
            return Picture(found.image, found.media_type)
        return generated("", acct.partition("@")[0], acct)

    def _due(self, found: store.RemoteAvatar) -> bool:
        """Their actor named an icon since the last fetch, or the last fetch failed an hour ago."""
        if not (self.fetch_allowed and found.icon_url):
            return False
        if found.fetched_at < found.noted_at:  # never fetched: fetched_at is 0
            return True
        return found.image is None and found.fetched_at < clock.now() - RETRY_FAILED

    async def _fetch_once(self, found: store.RemoteAvatar) -> None:
        """One fetch per picture at a time, however many pages ask for it meanwhile."""
        task = self._fetching.get(found.acct)
        if task is None:
            task = self._fetching[found.acct] = asyncio.ensure_future(self._fetch(found))
            task.add_done_callback(lambda _: self._fetching.pop(found.acct, None))
        await asyncio.shield(task)

    async def _fetch(self, found: store.RemoteAvatar) -> None:
        picture = None
        try:
            body, _ = await net.fetch_bytes(found.icon_url, allow_private=self.allow_private,
                                            timeout=FETCH_TIMEOUT, max_bytes=images.MAX_BYTES, accept="image/*")
            picture = await self.decode(body)
        except (net.FetchError, images.ImageRefused) as exc:
            log.info("picture of %s not taken from %s: %s", found.acct, found.icon_url[:200], exc)
        async with self.db.transaction() as tx:
            await store.update_remote_image(tx, found.acct, found.icon_url, picture and picture.data,
                                            picture.media_type if picture else "", clock.now())


def generated(display_name: str, username: str, key: str | None = None) -> Picture:
    """The generated picture: initials on a colour of the person's own (`key`: their name or acct)."""
    return images.generated(images.initials(display_name, username), images.colour_for(key or username))
