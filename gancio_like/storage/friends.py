"""Friend requests, friendships and "people like you" (migrations/0003_friends.sql).

A side of a request or friendship is local (a user id) or remote (an acct, no id).
Local accts are built here from the username and the instance's `domain`, never
stored, so they follow a renamed user or a moved instance.
"""
from __future__ import annotations

from ..models import Friend, FriendRequest, Suggestion
from .db import Database, Transaction
from .store import Row
from .users import user_with_interests

Reader = Database | Transaction
FIRST_PAGE = (2**63 - 1, 0)  # a (since, id) key after every real row

_REQUEST = ("SELECT r.id, r.from_user_id, r.from_acct, r.to_user_id, r.to_acct, r.status, r.created_at, "
            "fu.username AS from_name, tu.username AS to_name, fu.avatar_version AS from_avatar, "
            "tu.avatar_version AS to_avatar, fu.display_name AS from_shown, tu.display_name AS to_shown "
            "FROM friend_requests AS r "
            "LEFT JOIN users AS fu ON fu.id = r.from_user_id LEFT JOIN users AS tu ON tu.id = r.to_user_id")


def _request(row: Row, domain: str) -> FriendRequest:
    return FriendRequest(row["id"], row["from_acct"] or f"{row['from_name']}@{domain}",
                         row["to_acct"] or f"{row['to_name']}@{domain}", row["from_user_id"],
                         row["to_user_id"], row["status"], row["created_at"], row["from_avatar"] or 0,
                         row["to_avatar"] or 0, row["from_shown"] or "", row["to_shown"] or "")


async def get_request(db: Reader, domain: str, request_id: int) -> FriendRequest | None:
    row = await db.fetchone(f"{_REQUEST} WHERE r.id = ?", (request_id,))
    return None if row is None else _request(row, domain)


async def get_pending_request(db: Reader, domain: str, from_user_id: int | None, from_acct: str | None,
                              to_user_id: int | None, to_acct: str | None) -> FriendRequest | None:
    """The pending request from one side to the other (each side: a user id or a remote acct)."""
    row = await db.fetchone(
        f"{_REQUEST} WHERE r.status = 'pending' AND r.from_user_id IS NOT DISTINCT FROM ? AND r.from_acct IS NOT DISTINCT FROM ? "
        "AND r.to_user_id IS NOT DISTINCT FROM ? AND r.to_acct IS NOT DISTINCT FROM ?", (from_user_id, from_acct, to_user_id, to_acct))
    return None if row is None else _request(row, domain)


async def list_incoming_requests(db: Reader, domain: str, user_id: int, limit: int) -> list[FriendRequest]:
    rows = await db.fetchall(f"{_REQUEST} WHERE r.to_user_id = ? AND r.status = 'pending' "
                             "ORDER BY r.created_at DESC, r.id DESC LIMIT ?", (user_id, limit))
    return [_request(r, domain) for r in rows]


async def list_outgoing_requests(db: Reader, domain: str, user_id: int, limit: int) -> list[FriendRequest]:
    rows = await db.fetchall(f"{_REQUEST} WHERE r.from_user_id = ? AND r.status = 'pending' "
                             "ORDER BY r.created_at DESC, r.id DESC LIMIT ?", (user_id, limit))
    return [_request(r, domain) for r in rows]


async def insert_request(tx: Transaction, from_user_id: int, to_user_id: int | None,
                         to_acct: str | None, now: int, activity_id: str | None = None,
                         status: str = "pending") -> int:
    """A request from a local user; `activity_id` is the Follow that carries it to a remote acct."""
    return await tx.insert(
        "INSERT INTO friend_requests (from_user_id, to_user_id, to_acct, status, created_at, decided_at, "
        "activity_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (from_user_id, to_user_id, to_acct, status, now, None if status == "pending" else now, activity_id))


async def insert_remote_request(tx: Transaction, from_acct: str, to_user_id: int, activity_id: str,
                                status: str, now: int) -> int:
    """A request that came in as a Follow from another instance."""
    return await tx.insert(
        "INSERT INTO friend_requests (from_acct, to_user_id, status, created_at, decided_at, activity_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (from_acct, to_user_id, status, now, None if status == "pending" else now, activity_id))


async def get_request_by_activity(db: Reader, domain: str, activity_id: str) -> FriendRequest | None:
    """The (newest) request carried by the Follow `activity_id`."""
    row = await db.fetchone(f"{_REQUEST} WHERE r.activity_id = ? ORDER BY r.id DESC LIMIT 1", (activity_id,))
    return None if row is None else _request(row, domain)


async def get_request_activity_id(db: Reader, request_id: int) -> str | None:
    return await db.fetchval("SELECT activity_id FROM friend_requests WHERE id = ?", (request_id,))


async def get_last_follow_id(db: Reader, from_user_id: int, to_acct: str) -> str | None:
    """The newest Follow this user sent the remote acct (the one an Undo takes back)."""
    return await db.fetchval("SELECT activity_id FROM friend_requests WHERE from_user_id = ? AND to_acct = ? "
                             "AND activity_id IS NOT NULL ORDER BY id DESC LIMIT 1", (from_user_id, to_acct))


async def get_accepted_follow_id(db: Reader, from_acct: str, to_user_id: int) -> str | None:
    """The newest accepted Follow the remote acct sent this user (the one a removal Rejects)."""
    return await db.fetchval("SELECT activity_id FROM friend_requests WHERE to_user_id = ? AND status = 'accepted' "
                             "AND from_acct = ? AND activity_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                             (to_user_id, from_acct))


async def update_request_answered(tx: Transaction, request_id: int, status: str, now: int) -> int:
    """The remote side answered (accepted, declined) or withdrew (cancelled) a pending request."""
    return await tx.execute("UPDATE friend_requests SET status = ?, decided_at = ? "
                            "WHERE id = ? AND status = 'pending'", (status, now, request_id))


async def update_request_decided(tx: Transaction, request_id: int, recipient_id: int,
                                 status: str, now: int) -> int:
    """Accept or decline, only while pending and only by the recipient; the rows changed (0 or 1)."""
    return await tx.execute(
        "UPDATE friend_requests SET status = ?, decided_at = ? "
        "WHERE id = ? AND to_user_id = ? AND status = 'pending'", (status, now, request_id, recipient_id))


async def update_request_cancelled(tx: Transaction, request_id: int, sender_id: int, now: int) -> int:
    """Cancel, only while pending and only by the sender; the rows changed (0 or 1)."""
    return await tx.execute(
        "UPDATE friend_requests SET status = 'cancelled', decided_at = ? "
        "WHERE id = ? AND from_user_id = ? AND status = 'pending'", (now, request_id, sender_id))


# -- friendships --------------------------------------------------------------------------

async def get_friendship_since(db: Reader, user_id: int, friend_id: int | None,
                               friend_acct: str | None) -> int | None:
    """When user_id and the other side became friends; None if they are not."""
    return await db.fetchval("SELECT since FROM friendships WHERE user_id = ? AND friend_id IS NOT DISTINCT FROM ? "
                             "AND friend_acct IS NOT DISTINCT FROM ?", (user_id, friend_id, friend_acct))


async def insert_friendship(tx: Transaction, user_id: int, friend_id: int | None,
                            friend_acct: str | None, since: int) -> None:
    """One direction; an existing row is kept (with its original `since`)."""
    await tx.execute("INSERT OR IGNORE INTO friendships (user_id, friend_id, friend_acct, since) "
                     "VALUES (?, ?, ?, ?)", (user_id, friend_id, friend_acct, since))


async def delete_friendship(tx: Transaction, user_id: int, friend_id: int | None,
                            friend_acct: str | None) -> int:
    """One direction; the rows deleted (0 or 1)."""
    return await tx.execute("DELETE FROM friendships WHERE user_id = ? AND friend_id IS NOT DISTINCT FROM ? "
                            "AND friend_acct IS NOT DISTINCT FROM ?", (user_id, friend_id, friend_acct))


async def count_friends(db: Reader, user_id: int) -> int:
    return await db.fetchval("SELECT count(*) FROM friendships WHERE user_id = ?", (user_id,))


async def list_friends(db: Reader, domain: str, user_id: int, limit: int,
                       after: tuple[int, int] | None) -> tuple[list[Friend], tuple[int, int] | None]:
    """Newest friendships first, after the (since, id) key; and the key to continue from, if any."""
    rows = await db.fetchall(
        "SELECT f.id, f.friend_id, f.friend_acct, f.since, u.username, u.display_name, u.avatar_version "
        "FROM friendships AS f LEFT JOIN users AS u ON u.id = f.friend_id "
        "WHERE f.user_id = ? AND (f.since, f.id) < (?, ?) ORDER BY f.since DESC, f.id DESC LIMIT ?",
        (user_id, *(after or FIRST_PAGE), limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return [_friend(r, domain) for r in rows], ((rows[-1]["since"], rows[-1]["id"]) if more else None)


def _friend(row: Row, domain: str) -> Friend:
    if row["friend_acct"]:
        name = row["friend_acct"].partition("@")[0]
        return Friend(row["friend_acct"], name, "", None, row["since"])
    return Friend(f"{row['username']}@{domain}", row["username"], row["display_name"],
                  row["friend_id"], row["since"], row["avatar_version"])


# -- people like you ------------------------------------------------------------------------

# Candidates come only from the user's own tags (index user_interests_by_tag) and
# friends of their friends (friendships_local), each signal one row; then grouped,
# filtered and ranked. Nothing here reads every user, friendship or interest.
SUGGESTIONS_SQL = """
WITH me(id) AS (SELECT CAST(? AS BIGINT)),
signals(id, shared, mutual, tag) AS (
    SELECT theirs.user_id, 1, 0, theirs.tag
    FROM user_interests AS mine JOIN user_interests AS theirs ON theirs.tag = mine.tag
    WHERE mine.user_id = (SELECT id FROM me)
    UNION ALL
    SELECT fof.friend_id, 0, 1, NULL
    FROM friendships AS mf JOIN friendships AS fof ON fof.user_id = mf.friend_id
    WHERE mf.user_id = (SELECT id FROM me) AND fof.friend_id IS NOT NULL),
scored(id, shared, mutual, tags) AS (
    SELECT id, sum(shared), sum(mutual), group_concat(tag, char(31)) FROM signals GROUP BY id)
SELECT u.id, u.username, u.display_name, u.bio, u.is_admin, u.created_at,
       u.email, u.timezone, u.locale, u.avatar_version,
       (SELECT group_concat(tag, char(31)) FROM user_interests WHERE user_id = u.id) AS interests,
       s.shared, s.mutual, s.tags
FROM scored AS s JOIN users AS u ON u.id = s.id
WHERE s.id <> (SELECT id FROM me)
  AND NOT EXISTS (SELECT 1 FROM friendships AS f
                  WHERE f.user_id = (SELECT id FROM me) AND f.friend_id = s.id)
  AND NOT EXISTS (SELECT 1 FROM friend_requests AS r WHERE r.status = 'pending'
                  AND r.from_user_id = (SELECT id FROM me) AND r.to_user_id = s.id)
  AND NOT EXISTS (SELECT 1 FROM friend_requests AS r WHERE r.status = 'pending'
                  AND r.from_user_id = s.id AND r.to_user_id = (SELECT id FROM me))
ORDER BY s.shared + s.mutual DESC, s.shared DESC, u.username
LIMIT ?
"""


async def list_suggestions(db: Reader, user_id: int, limit: int) -> list[Suggestion]:
    """Local users ranked by one point per shared interest and per mutual friend."""
    rows = await db.fetchall(SUGGESTIONS_SQL, (user_id, limit))
    return [Suggestion(user_with_interests(r), float(r["shared"] + r["mutual"]),
                       tuple(sorted(r["tags"].split("\x1f"))) if r["tags"] else (), r["mutual"])
            for r in rows]


async def list_remote_friend_accts(db: Reader, user_id: int) -> list[str]:
    """The accts of a user's friends on other instances."""
    rows = await db.fetchall("SELECT friend_acct FROM friendships WHERE user_id = ? AND friend_acct IS NOT NULL "
                             "ORDER BY id", (user_id,))
    return [r[0] for r in rows]


async def list_users_befriending(db: Reader, acct: str) -> list[int]:
    """The local users who are friends with the remote `acct`."""
    rows = await db.fetchall("SELECT user_id FROM friendships WHERE friend_acct = ? ORDER BY user_id", (acct,))
    return [r[0] for r in rows]
