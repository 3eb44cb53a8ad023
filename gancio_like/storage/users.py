"""Accounts: the users table and their interests."""
from __future__ import annotations

from ..models import User
from .db import Database, Transaction
from .store import Row

_COLUMNS = "id, username, display_name, bio, is_admin, created_at, email, timezone, locale, avatar_version"
# Interests ride along in one query: a user is loaded on every page and API call.
INTERESTS_COLUMN = ("(SELECT group_concat(tag, char(31)) FROM user_interests "
                    "WHERE user_id = users.id) AS interests")
USER_COLUMNS = ("users.id, users.username, users.display_name, users.bio, users.is_admin, "
                "users.created_at, users.email, users.timezone, users.locale, users.avatar_version, "
                f"{INTERESTS_COLUMN}")
_WITH_INTERESTS = f"SELECT {USER_COLUMNS} FROM users"


def _user(row: Row, interests: tuple[str, ...] = ()) -> User:
    return User(row["id"], row["username"], row["display_name"], row["bio"],
                bool(row["is_admin"]), row["created_at"], interests, row["email"], row["timezone"],
                row["locale"], row["avatar_version"])


def user_with_interests(row: Row | None) -> User | None:
    """A User from a row that carries an `interests` column (char 31-separated tags)."""
    if row is None:
        return None
    return _user(row, tuple(sorted(row["interests"].split("\x1f"))) if row["interests"] else ())


async def insert_user(tx: Transaction, username: str, password_hash: str,
                      display_name: str, now: int, is_admin: bool = False) -> int:
    return await tx.insert(
        "INSERT INTO users (username, display_name, password_hash, is_admin, created_at) "
        "VALUES (?, ?, ?, ?, ?)", (username, display_name, password_hash, int(is_admin), now))


async def count_users(db: Database | Transaction) -> int:
    row = await db.fetchone("SELECT count(*) FROM users")
    return row[0]


async def get_user(db: Database, user_id: int) -> User | None:
    return user_with_interests(await db.fetchone(f"{_WITH_INTERESTS} WHERE id = ?", (user_id,)))


async def get_user_by_name(db: Database | Transaction, username: str) -> User | None:
    return user_with_interests(await db.fetchone(f"{_WITH_INTERESTS} WHERE username = ?", (username,)))


async def get_password_hash(db: Database, username: str) -> tuple[int, str] | None:
    row = await db.fetchone("SELECT id, password_hash FROM users WHERE username = ?", (username,))
    return None if row is None else (row["id"], row["password_hash"])


async def list_users(db: Database) -> list[User]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM users ORDER BY username")
    return [_user(r) for r in rows]


async def update_profile(tx: Transaction, user_id: int, display_name: str, bio: str,
                         interests: list[str]) -> None:
    await tx.execute("UPDATE users SET display_name = ?, bio = ? WHERE id = ?",
                     (display_name, bio, user_id))
    await tx.execute("DELETE FROM user_interests WHERE user_id = ?", (user_id,))
    for tag in interests:
        await tx.execute("INSERT INTO user_interests (user_id, tag) VALUES (?, ?)", (user_id, tag))


async def update_password_hash(tx: Transaction, user_id: int, password_hash: str) -> None:
    await tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


async def update_email(tx: Transaction, user_id: int, email: str | None) -> None:
    await tx.execute("UPDATE users SET email = ? WHERE id = ?", (email, user_id))


async def update_timezone(tx: Transaction, user_id: int, timezone: str) -> None:
    await tx.execute("UPDATE users SET timezone = ? WHERE id = ?", (timezone, user_id))


async def update_locale(tx: Transaction, user_id: int, locale: str) -> None:
    await tx.execute("UPDATE users SET locale = ? WHERE id = ?", (locale, user_id))


async def email_taken(db: Database | Transaction, email: str, user_id: int) -> bool:
    """Whether another account has `email`, whatever its case (index users_by_email)."""
    return await db.fetchone("SELECT 1 FROM users WHERE lower(email) = lower(?) AND id <> ?",
                             (email, user_id)) is not None


async def get_user_by_login(db: Database | Transaction, text: str) -> User | None:
    """The account a username or a mail address (any case) names, if any."""
    column = "lower(email) = lower(?)" if "@" in text else "username = ?"
    return user_with_interests(await db.fetchone(f"{_WITH_INTERESTS} WHERE {column}", (text,)))
