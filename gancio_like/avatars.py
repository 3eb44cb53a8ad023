"""Where a person's picture lives (SPEC §2, §4 `avatar`): one URL per person and version,
so an upload changes the URL and caches may keep each version for ever. No internal imports.

`GET /avatars/NAME` answers the uploaded image, or the generated default (initials on a
colour) when there is none; `GET /avatars/remote/ACCT` a remote friend's, copied from
their actor through the federation guard.
"""
from __future__ import annotations

from urllib.parse import quote


def avatar_url(public_url: str, username: str, version: int = 0) -> str:
    return f"{public_url.rstrip('/')}/avatars/{quote(username)}?v={version}"


def remote_avatar_url(public_url: str, acct: str) -> str:
    return f"{public_url.rstrip('/')}/avatars/remote/{quote(acct, safe='@')}"


def acct_avatar_url(public_url: str, acct: str, local: bool, version: int = 0) -> str:
    """Anyone's picture by acct: a local person's (by name and version), or a remote one's."""
    if local:
        return avatar_url(public_url, acct.partition("@")[0], version)
    return remote_avatar_url(public_url, acct)
