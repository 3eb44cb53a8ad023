"""Accounts, passwords and web sessions (SPEC §2).

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 low-memory profile:
64 MiB, t=3, p=4) in a thread, at most two at a time, so a burst of logins can
neither block the event loop nor exhaust memory. A stored hash made with older
parameters is rehashed at the next successful login.
"""
from __future__ import annotations

import asyncio
import hashlib
import re
import secrets

import argon2

from .. import clock, languages, timezones
from ..errors import ValidationError
from ..models import User
from ..notifications import UserCreated
from ..storage import errors as storage_errors
from ..storage import sessions as session_store
from ..storage import tokens as token_store
from ..storage import users as user_store
from ..storage.db import Database

USERNAME = re.compile(r"[a-z0-9_]{1,30}")
RESERVED = frozenset({"events"})  # events@DOMAIN is the instance's events actor (SPEC §6)
# An address a mail can go to, with nothing a mail header could misread: no spaces,
# quotes, angle brackets, commas or line breaks; an ASCII domain (IDNs as xn--).
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*")
MAX_EMAIL = 254  # RFC 5321 §4.5.3.1.3
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
SESSION_DAYS = 30
MAX_INTERESTS, MAX_TAG = 30, 40


class Passwords:
    """argon2id hashing off the event loop, bounded in concurrency."""

    def __init__(self, hasher: argon2.PasswordHasher | None = None, concurrency: int = 2):
        self.hasher = hasher or argon2.PasswordHasher()
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy: str | None = None

    async def _run(self, fn, *args):
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Constant work whether or not the account exists (a dummy hash stands in)."""
        if stored is None:
            self._dummy = self._dummy or await self.hash("not a real password")
            stored = self._dummy
        try:
            return await self._run(self.hasher.verify, stored, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username or ""):
        raise ValidationError("username: 1 to 30 of a-z, 0-9 and _", "username")
    if username in RESERVED:
        raise ValidationError(f"the username {username} is reserved for the instance itself", "username")
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise ValidationError(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters", "password")
    return password


def parse_interests(text: str) -> list[str]:
    """Comma-separated tags → lowercase, trimmed, unique, in the order given."""
    tags = []
    for part in (text or "").split(","):
        tag = " ".join(part.split()).lower()
        if tag and tag not in tags:
            if len(tag) > MAX_TAG:
                raise ValidationError(f"interests: each at most {MAX_TAG} characters", "interests")
            tags.append(tag)
    if len(tags) > MAX_INTERESTS:
        raise ValidationError(f"interests: at most {MAX_INTERESTS}", "interests")
    return tags


def check_email(text: str | None) -> str | None:
    """An optional mail address, trimmed; None when left empty."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > MAX_EMAIL or not EMAIL.fullmatch(text):
        raise ValidationError("email: give an address like name@example.org, or leave it empty", "email")
    return text


def check_zone(name: str | None) -> str:
    """A time zone setting: an IANA name, or "" for the instance's own."""
    name = (name or "").strip()
    if name and not timezones.is_zone(name):
        raise ValidationError("time zone: choose one from the list (an IANA name such as Europe/Rome)",
                              "timezone")
    return name


def check_locale(code: str | None) -> str:
    """A language setting: one Fync speaks, or "" for the browser's choice."""
    code = (code or "").strip()
    if code and not languages.is_language(code):
        raise ValidationError("language: choose one from the list", "locale")
    return code


async def create_user(db: Database, passwords: Passwords, username: str, password: str,
                      display_name: str = "", admin: bool = False) -> int:
    """A new account; the first one on an empty instance is admin."""
    check_username(username)
    check_password(password)
    display_name = (display_name or "").strip()[:100]
    password_hash = await passwords.hash(password)
    async with db.transaction() as tx:
        if await user_store.get_user_by_name(tx, username) is not None:
            raise ValidationError("that username is taken", "username")
        first = await user_store.count_users(tx) == 0
        user_id = await user_store.insert_user(tx, username, password_hash, display_name,
                                               clock.now(), is_admin=admin or first)
        tx.notify(UserCreated, user_id=user_id, username=username)
    return user_id


async def find_person(db: Database, username: str) -> User | None:
    """The local person called `username`, if anyone is."""
    return await user_store.get_user_by_name(db, username)


async def authenticate(db: Database, passwords: Passwords, username: str, password: str) -> int | None:
    """The user id when the password is right; rehashes outdated hashes."""
    if len(password) > MAX_PASSWORD:
        return None
    found = await user_store.get_password_hash(db, username)
    ok = await passwords.verify(found[1] if found else None, password)
    if not (ok and found):
        return None
    user_id, stored = found
    if passwords.needs_rehash(stored):
        new_hash = await passwords.hash(password)
        async with db.transaction() as tx:
            await user_store.update_password_hash(tx, user_id, new_hash)
    return user_id


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def start_session(db: Database, user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    async with db.transaction() as tx:
        await session_store.insert_session(tx, _digest(token), user_id, now, now + SESSION_DAYS * 86400)
    return token


async def session_user(db: Database, token: str | None) -> User | None:
    if not token or len(token) > 100:
        return None
    return await session_store.get_session_user(db, _digest(token), clock.now())


def session_hash(token: str) -> bytes:
    return _digest(token)


async def end_session(db: Database, token: str) -> None:
    async with db.transaction() as tx:
        await session_store.delete_session(tx, _digest(token))


async def update_profile(db: Database, user_id: int, display_name: str, bio: str,
                         interests: str, email: str | None = None, timezone: str | None = None,
                         locale: str | None = None) -> None:
    """The profile; `email`, `timezone` and `locale` too unless None (a form without those
    fields). All are checked before anything is saved. An address another account has is
    refused without saying whose."""
    tags = parse_interests(interests)
    address = None if email is None else check_email(email)
    zone = None if timezone is None else check_zone(timezone)
    language = None if locale is None else check_locale(locale)
    try:
        async with db.transaction() as tx:
            await user_store.update_profile(tx, user_id, (display_name or "").strip()[:100],
                                            (bio or "").strip()[:2000], tags)
            if email is not None:
                if address and await user_store.email_taken(tx, address, user_id):
                    raise _email_taken()
                await user_store.update_email(tx, user_id, address)
            if zone is not None:
                await user_store.update_timezone(tx, user_id, zone)
            if language is not None:
                await user_store.update_locale(tx, user_id, language)
    except storage_errors.Conflict:  # two accounts saving one address at once (users_by_email)
        raise _email_taken() from None


def _email_taken() -> ValidationError:
    return ValidationError("email: that address is already used by another account here", "email")


async def set_password(db: Database, passwords: Passwords, user_id: int, new_password: str,
                       on_changed=None) -> None:
    """New password: every web session ends, and so does every app's grant (SECURITY-CHECKLIST 26),
    since a changed password means "lock others out". Every way to set one (the settings page,
    the reset link, `fync user passwd`) comes here; `on_changed(tx, user_id)` adds what its
    caller needs in the same transaction (the reset link spent)."""
    check_password(new_password)
    new_hash = await passwords.hash(new_password)
    async with db.transaction() as tx:
        await user_store.update_password_hash(tx, user_id, new_hash)
        await session_store.delete_user_sessions(tx, user_id)
        await token_store.revoke_user_grants(tx, user_id)
        if on_changed:
            await on_changed(tx, user_id)
