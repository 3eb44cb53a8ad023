"""Actors (ActivityPub §4.1; SPEC §6): our users as `Person` documents, and remote
actors fetched, checked and cached.

A remote actor document is believed only if it is what its URL says it is
(Mastodon CVE-2024-23832 was the lack of this check): its `id` must equal the URL
it was fetched from, its key must be its own (`publicKey.owner` = `id`, the key id
on the same host) and its inbox on its own host. All fetches go through
`net.fetch_json`: never a private or loopback address unless
`allow_private_addresses`, no redirects, capped in size and time
(SECURITY-CHECKLIST 59-60).
"""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone

from .. import clock, net
from ..avatars import avatar_url
from ..errors import NotFound
from ..models import User
from ..storage import avatars as avatar_store
from ..storage import federation as store
from ..storage import friends as friend_store
from ..storage import users as user_store
from ..storage.federation import RemoteActor
from . import Federation, host_of, keys, signatures, too_long, webfinger

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
# An actor's context declares every term it uses, as Mastodon's do: the two contexts
# define all but `manuallyApprovesFollowers`, which JSON-LD processors (Fedify) would
# otherwise drop, reading a Fync account as one anybody may follow unasked.
ACTOR_CONTEXT = [AS_CONTEXT, SECURITY_CONTEXT, {"manuallyApprovesFollowers": "as:manuallyApprovesFollowers"}]
ACTIVITY_JSON = "application/activity+json"
ACCEPT = f'{ACTIVITY_JSON}, application/ld+json; profile="{AS_CONTEXT}"'
ACTOR_TYPES = ("Person", "Service", "Application", "Group", "Organization")
MAX_ACTOR_BYTES = 256 * 1024
FETCH_TIMEOUT = 5.0
ACTOR_TTL = 86400          # a cached actor is re-resolved for deliveries after a day
USERNAME = re.compile(r"[a-z0-9_]{1,30}")
REMOTE_NAME = re.compile(r"[a-z0-9_.-]{1,64}")


class ActorError(Exception):
    """A remote actor could not be fetched, or is not one Fync can trust; the message says why.
    `status` is the HTTP status its host answered, when that was the trouble."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


# -- ours -------------------------------------------------------------------------------------

def actor_url(issuer: str, username: str) -> str:
    return f"{issuer}/users/{username}"


def key_id(issuer: str, username: str) -> str:
    return actor_url(issuer, username) + "#main-key"


def local_username(issuer: str, url) -> str | None:
    """The username in one of our actor URLs, or None if `url` is not one."""
    if not isinstance(url, str) or not url.startswith(f"{issuer}/users/"):
        return None
    name = url.removeprefix(f"{issuer}/users/")
    return name if USERNAME.fullmatch(name) else None


def wants_activity_json(accept: str | None) -> bool:
    """Content negotiation: does the Accept header ask for ActivityStreams JSON?"""
    types = {part.split(";")[0].strip().lower() for part in (accept or "").split(",")}
    return bool(types & {ACTIVITY_JSON, "application/ld+json"})


async def person(fed: Federation, user: User) -> dict:
    """The user's actor document (made with a key pair, on first need)."""
    url = actor_url(fed.issuer, user.username)
    pair = await keys.key_pair(fed.db, user.id)
    bio = html.escape(user.bio).replace("\n", "<br>")
    doc = {
        "@context": ACTOR_CONTEXT,
        "id": url, "type": "Person",
        "preferredUsername": user.username, "name": user.shown_name,
        "summary": f"<p>{bio}</p>" if bio else "",
        "url": f"{fed.issuer}/u/{user.username}",
        "inbox": f"{url}/inbox", "outbox": f"{url}/outbox",
        "followers": f"{url}/followers", "following": f"{url}/following",
        # A Follow is a friend request, answered by a person: followers are approved.
        "manuallyApprovesFollowers": True,
        "published": datetime.fromtimestamp(user.created_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publicKey": {"id": key_id(fed.issuer, user.username), "owner": url, "publicKeyPem": pair.public_pem},
        "endpoints": {"sharedInbox": f"{fed.issuer}/inbox"},
    }
    avatar = await avatar_image(fed, user)
    if avatar is not None:
        doc["icon"] = {"type": "Image", "url": avatar[0], "mediaType": avatar[1]}
    return doc


async def avatar_image(fed: Federation, user: User) -> tuple[str, str] | None:
    """(absolute URL, media type) of the user's picture, for the actor's `icon`: their
    upload, else the generated PNG that `/avatars/NAME` serves."""
    media_type = await avatar_store.get_media_type(fed.db, user.id) if user.avatar_version else None
    return avatar_url(fed.issuer, user.username, user.avatar_version), media_type or "image/png"


async def local_user(fed: Federation, name: str) -> User:
    """The local user an actor URL names; NotFound if nobody has that name."""
    user = await user_store.get_user_by_name(fed.db, name)
    if user is None:
        raise NotFound("user")
    return user


async def collection(fed: Federation, user: User, which: str) -> dict:
    """`outbox`, `followers` or `following` as an OrderedCollection with its size only:
    who someone's friends are is not published, and no activity is public yet."""
    total = 0 if which == "outbox" else await friend_store.count_friends(fed.db, user.id)
    url = f"{actor_url(fed.issuer, user.username)}/{which}"
    return {"@context": AS_CONTEXT, "id": url, "type": "OrderedCollection", "totalItems": total}


# -- theirs -----------------------------------------------------------------------------------

async def fetch_actor(fed: Federation, url: str, signer: tuple[str, str, int] | None = None) -> RemoteActor:
    """GET and check a remote actor. `signer` = (keyId, private PEM, its user's id) signs
    the GET (Mastodon's authorized-fetch mode wants it)."""
    headers = None
    if signer is not None:
        key_id_, private_pem, user_id = signer
        headers = signatures.sign_request("GET", url, None, key_id_, private_pem, clock.now(), user_id)
    try:
        doc, _ = await net.fetch_json(url, allow_private=fed.allow_private, timeout=FETCH_TIMEOUT,
                                      max_bytes=MAX_ACTOR_BYTES, accept=ACCEPT, headers=headers)
    except net.FetchError as exc:
        raise ActorError(f"cannot fetch the actor {url}: {exc}", exc.status) from None
    return parse_actor(url, doc)


def parse_actor(url: str, doc: dict) -> RemoteActor:
    """The RemoteActor a fetched document describes, after the origin checks; ActorError if not."""
    if too_long(url):
        raise ActorError(f"the actor URL {url[:200]}… is too long")
    if doc.get("id") != url:
        raise ActorError(f"the document at {url} says it is {str(doc.get('id'))[:200]!r}")
    if doc.get("type") not in ACTOR_TYPES:
        raise ActorError(f"{url} is not an actor")
    host = host_of(url)
    inbox, key = doc.get("inbox"), _own_key(doc, url)
    if host_of(inbox) != host:
        raise ActorError(f"{url} has no inbox on its own host")
    name = doc.get("preferredUsername")
    name = name.lower() if isinstance(name, str) else ""
    if not REMOTE_NAME.fullmatch(name):
        raise ActorError(f"{url} has no usable preferredUsername")
    return RemoteActor(url, f"{name}@{host}", inbox, key["id"], key["publicKeyPem"], clock.now(),
                       icon_url(doc.get("icon")))


def icon_url(icon) -> str:
    """The URL of an actor's `icon`: an Image (or a list of them, or a bare URL) whose
    `url` is a string or a Link; the first https one. "" when there is none."""
    for item in icon if isinstance(icon, list) else [icon]:
        url = item.get("url") if isinstance(item, dict) else item
        for link in url if isinstance(url, list) else [url]:
            href = link.get("href") if isinstance(link, dict) else link
            if isinstance(href, str) and href.startswith(("https://", "http://")) and not too_long(href):
                return href
    return ""


def _own_key(doc: dict, url: str) -> dict:
    found = doc.get("publicKey")
    for key in found if isinstance(found, list) else [found]:
        if (isinstance(key, dict) and key.get("owner") == url and isinstance(key.get("id"), str)
                and host_of(key["id"]) == host_of(url) and not too_long(key["id"])
                and isinstance(key.get("publicKeyPem"), str)
                and keys.load_public(key["publicKeyPem"]) is not None):
            return key
    raise ActorError(f"{url} has no RSA public key of its own (2048 bits or more)")


async def actor_for_key(fed: Federation, key_id_: str, refresh: bool = False) -> RemoteActor:
    """The actor whose key `key_id_` is: cached, or fetched from the keyId URL (fragment dropped)."""
    if not refresh:
        cached = await store.get_remote_actor_by_key(fed.db, key_id_)
        if cached is not None:
            return cached
    actor = await fetch_actor(fed, key_id_.partition("#")[0])
    if actor.key_id != key_id_:
        raise ActorError(f"{key_id_} is not the key of the actor it names")
    await remember(fed, actor)
    return actor


async def actor_for_acct(fed: Federation, acct: str, signer: tuple[str, str, int] | None = None) -> RemoteActor:
    """The actor `name@domain` stands for: cached for a day, else WebFinger on the domain, then the actor."""
    cached = await store.get_remote_actor_by_acct(fed.db, acct)
    if cached is not None and cached.fetched_at > clock.now() - ACTOR_TTL:
        return cached
    try:
        url = await webfinger.actor_url(fed, acct)
    except net.FetchError as exc:
        raise ActorError(f"WebFinger for {acct}: {exc}", exc.status) from None
    actor = await fetch_actor(fed, url, signer)
    if actor.acct != acct:
        raise ActorError(f"{acct} resolves to an actor that calls itself {actor.acct}")
    await remember(fed, actor)
    return actor


async def remember(fed: Federation, actor: RemoteActor) -> None:
    """Keep a freshly fetched actor; its picture is fetched anew when next shown."""
    async def keep(tx) -> None:
        await store.upsert_remote_actor(tx, actor)
        await avatar_store.note_remote_icon(tx, actor.acct, actor.icon, actor.fetched_at)
    await fed.db.write(keep)
