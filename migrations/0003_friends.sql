-- Friends: requests and mutual friendships, local and remote (SPEC §2 /friends, §4, §6).
--
-- A local side is a user id, a remote side is only its acct (name@domain) and no
-- user id, so a local acct is always built from the current username and domain.
-- Requests keep their history (accepted, declined, cancelled), and only one may
-- be pending per pair and direction. A request to a remote acct stays pending until
-- federation delivers it (and its Accept arrives).
CREATE TABLE friend_requests (
    id INTEGER PRIMARY KEY,
    from_user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,  -- NULL: from another instance
    from_acct TEXT,                                               -- set only when remote
    to_user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,    -- NULL: to another instance
    to_acct TEXT,                                                 -- set only when remote
    status TEXT NOT NULL DEFAULT 'pending',                       -- pending | accepted | declined | cancelled
    created_at INTEGER NOT NULL,
    decided_at INTEGER,
    CHECK ((from_user_id IS NULL) <> (from_acct IS NULL)),
    CHECK ((to_user_id IS NULL) <> (to_acct IS NULL)),
    CHECK (from_user_id IS NOT NULL OR to_user_id IS NOT NULL)
);
-- Pending requests for / from a user, newest first, and "is one pending between A and B".
CREATE INDEX friend_requests_incoming ON friend_requests (to_user_id, status, created_at);
CREATE INDEX friend_requests_outgoing ON friend_requests (from_user_id, status, created_at);
-- At most one pending request per pair and direction (NULLs never collide, so one
-- index per kind of pair: local→local, local→remote, remote→local).
CREATE UNIQUE INDEX friend_requests_one_pending_local ON friend_requests (from_user_id, to_user_id)
    WHERE status = 'pending';
CREATE UNIQUE INDEX friend_requests_one_pending_out ON friend_requests (from_user_id, to_acct)
    WHERE status = 'pending';
CREATE UNIQUE INDEX friend_requests_one_pending_in ON friend_requests (to_user_id, from_acct)
    WHERE status = 'pending';

-- One row per direction, so "is X friends with Y" and "X's friends by since" are both
-- lookups on user_id. A remote friend has only the local user's row.
CREATE TABLE friendships (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    friend_id INTEGER REFERENCES users(id) ON DELETE CASCADE,    -- NULL for a remote friend
    friend_acct TEXT,                                             -- name@domain of a remote friend
    since INTEGER NOT NULL,
    CHECK ((friend_id IS NULL) <> (friend_acct IS NULL))
);
CREATE UNIQUE INDEX friendships_local ON friendships (user_id, friend_id);
CREATE UNIQUE INDEX friendships_remote ON friendships (user_id, friend_acct);
CREATE INDEX friendships_by_since ON friendships (user_id, since, id);
