"""People's pictures (migrations/0010_people.sql `avatars`, 0012_people.sql `remote_avatars`).

Images are stored already re-encoded (gancio_like/images.py); these functions only keep
them. A local person's `avatar_version` changes with every upload, so the picture's URL
does too; it is never reused, or a cache could show an older picture for ever.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .db import Database, Transaction

Reader = Database | Transaction


@dataclass(frozen=True)
class StoredAvatar:
    """A local person's picture as stored: image None when they have uploaded none."""
    user_id: int
    username: str
    display_name: str
    version: int
    image: bytes | None = field(default=None, repr=False)
    media_type: str = ""


@dataclass(frozen=True)
class RemoteAvatar:
    acct: str
    icon_url: str       # what their actor named as `icon`; "" for none
    noted_at: int       # when their actor was last fetched
    fetched_at: int     # when the picture was last fetched (or tried); 0 = never
    image: bytes | None = field(default=None, repr=False)
    media_type: str = ""


async def get_avatar(db: Reader, username: str) -> StoredAvatar | None:
    row = await db.fetchone("SELECT u.id, u.username, u.display_name, u.avatar_version, a.image, a.media_type "
                            "FROM users AS u LEFT JOIN avatars AS a ON a.user_id = u.id WHERE u.username = ?",
                            (username,))
    if row is None:
        return None
    image = None if row["image"] is None else bytes(row["image"])
    return StoredAvatar(row["id"], row["username"], row["display_name"], row["avatar_version"], image,
                        row["media_type"] or "")


async def get_media_type(db: Reader, user_id: int) -> str | None:
    """The stored picture's media type (None: no upload), without reading the image."""
    return await db.fetchval("SELECT media_type FROM avatars WHERE user_id = ?", (user_id,))


async def upsert_avatar(tx: Transaction, user_id: int, image: bytes, media_type: str, now: int,
                        floor: int) -> int:
    """Keep `image` as the person's picture → its new version: past the last one, and at
    least `floor` (the clock in milliseconds), so also past those before a removal (0)."""
    await tx.execute("INSERT INTO avatars (user_id, image, media_type, updated_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (user_id) DO UPDATE SET image = excluded.image, "
                     "media_type = excluded.media_type, updated_at = excluded.updated_at",
                     (user_id, image, media_type, now))
    await tx.execute("UPDATE users SET avatar_version = CASE WHEN avatar_version + 1 > ? THEN avatar_version + 1 "
                     "ELSE ? END WHERE id = ?", (floor, floor, user_id))
    return await tx.fetchval("SELECT avatar_version FROM users WHERE id = ?", (user_id,))


async def delete_avatar(tx: Transaction, user_id: int) -> int:
    """Back to the generated picture (version 0); the rows changed (0: there was none)."""
    await tx.execute("UPDATE users SET avatar_version = 0 WHERE id = ?", (user_id,))
    return await tx.execute("DELETE FROM avatars WHERE user_id = ?", (user_id,))


# -- remote people ----------------------------------------------------------------------------

async def get_remote_avatar(db: Reader, acct: str) -> RemoteAvatar | None:
    row = await db.fetchone("SELECT acct, icon_url, noted_at, fetched_at, image, media_type "
                            "FROM remote_avatars WHERE acct = ?", (acct,))
    if row is None:
        return None
    image = None if row["image"] is None else bytes(row["image"])
    return RemoteAvatar(row["acct"], row["icon_url"], row["noted_at"], row["fetched_at"], image,
                        row["media_type"])


async def note_remote_icon(tx: Transaction, acct: str, icon_url: str, now: int) -> None:
    """Their actor was fetched (again), naming `icon_url`: the copy is fetched anew when next
    shown. An actor with no icon any more has none here either."""
    await tx.execute(
        "INSERT INTO remote_avatars (acct, icon_url, noted_at) VALUES (?, ?, ?) "
        "ON CONFLICT (acct) DO UPDATE SET icon_url = excluded.icon_url, noted_at = excluded.noted_at, "
        "image = CASE WHEN excluded.icon_url = '' THEN NULL ELSE remote_avatars.image END",
        (acct, icon_url, now))


async def update_remote_image(tx: Transaction, acct: str, icon_url: str, image: bytes | None,
                              media_type: str, now: int) -> None:
    """The copy of `icon_url`, fetched now (image None: the fetch failed, keep what we had),
    unless the actor has named another icon meanwhile."""
    await tx.execute("UPDATE remote_avatars SET image = coalesce(?, image), media_type = coalesce(?, media_type), "
                     "fetched_at = ? WHERE acct = ? AND icon_url = ?",
                     (image, None if image is None else media_type, now, acct, icon_url))
