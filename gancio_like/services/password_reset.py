"""Password reset by mail (SPEC §2 "More about accounts").

- `/password/forgot` takes a username or an email and always answers the same, so
  nobody learns whether an account exists or has an address: the lookup, the link and
  the mail all happen after the answer, in the background (`request_link`), so not even
  the answer's timing depends on a match.
- A match with an email gets a single-use link valid for `LINK_TTL`. Its token is 256
  random bits; the database keeps only its SHA-256 digest (a copy of the database opens
  no account), and a link is looked up by that digest, an exact index match.
- At most `MAILS_PER_HOUR` links an hour per account, so the form cannot flood anyone.
- Setting the new password spends the link (and every other open one of the account)
  in the same transaction, and ends every session and app grant of the account.
"""
from __future__ import annotations

import hashlib
import logging
import secrets

from .. import clock, languages
from ..errors import ValidationError
from ..mail import Mailer, compose
from ..models import User
from ..storage import password_resets as store
from ..storage import users as user_store
from ..storage.db import Database, Transaction
from . import accounts

log = logging.getLogger("fync")
LINK_TTL = 3600
MAILS_PER_HOUR = 3
# Asking is counted per address too, match or not (so the count says nothing about
# accounts): a script cycling through names cannot keep the mail queue busy.
REQUESTS_PER_HOUR_PER_IP = 10
MAX_LOGIN = 254  # a username, or an email address at most this long
MAX_TOKEN = 100
EXPIRED = languages.N_("this link has expired or was already used: ask for a new one")


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def check_login(text: str) -> str:
    """What the forgot form took, trimmed; only its length and shape are judged here."""
    text = (text or "").strip()
    if not text or len(text) > MAX_LOGIN:
        raise ValidationError("give your username or your email address", "login")
    return text


async def request_link(db: Database, mailer: Mailer, issuer: str, instance: str, login: str,
                       page_language: str = languages.DEFAULT) -> None:
    """In the background: if `login` names an account with an email, mail it a link, in the
    language the person chose in settings, else the one the form was shown in."""
    user = await user_store.get_user_by_login(db, login if "@" in login else login.lower())
    if user is None or not user.email:
        return
    token, now = secrets.token_urlsafe(32), clock.now()
    async with db.transaction() as tx:
        if await store.count_recent_resets(tx, user.id, now - 3600) >= MAILS_PER_HOUR:
            log.warning("password reset for %s not mailed: %d links in the last hour already",
                        user.username, MAILS_PER_HOUR)
            return
        await store.insert_reset(tx, digest(token), user.id, now, now + LINK_TTL)
    link = f"{issuer}/password/reset?token={token}"
    _ = languages.translator(user.locale or page_language).gettext
    message = compose(mailer.settings, user.email, _("Reset your password on %(instance)s") % {"instance": instance},
                      reset_text(user, instance, link, _), issuer.partition("://")[2])
    await mailer.deliver(message, f"the password reset link of {user.username}")


def reset_text(user: User, instance: str, link: str, _=languages.translator(languages.DEFAULT).gettext) -> str:
    """The mail's words; `_` is the reader's language's gettext."""
    return _("Hello %(name)s,\n\n"
             "someone, hopefully you, asked to reset the password of the account %(username)s on %(instance)s. "
             "To choose a new password, open this link within an hour:\n\n%(link)s\n\n"
             "The link works once. If you did not ask for it, ignore this mail: your password "
             "stays as it is.\n") % {"name": user.shown_name, "username": user.username, "instance": instance,
                                     "link": link}


async def link_user(db: Database, token: str) -> int | None:
    """The account an unused, unexpired link opens (for its form), else None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    return await store.get_usable_reset(db, digest(token), clock.now())


async def reset_password(db: Database, passwords: accounts.Passwords, token: str, new_password: str) -> int:
    """Set the new password through the link → the account's id. The link is spent, and
    every session and app grant of the account ends, in the password's own transaction."""
    accounts.check_password(new_password)
    user_id = await link_user(db, token)
    if user_id is None:
        raise ValidationError(EXPIRED, "token")

    async def spend(tx: Transaction, changed_id: int) -> None:
        if not await store.use_reset(tx, digest(token), changed_id, clock.now()):
            raise ValidationError(EXPIRED, "token")  # spent meanwhile: the password stays as it was

    await accounts.set_password(db, passwords, user_id, new_password, on_changed=spend)
    return user_id
