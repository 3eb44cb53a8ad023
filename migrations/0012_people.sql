-- Password reset and remote people's pictures (SPEC §2 "More about accounts", §6 `icon`).

-- A reset link mailed to someone: only the digest of its token is kept, so a copy of
-- the database opens no account. Used once, within the hour. The rows of the last hour
-- also count an account's reset mails (at most 3 an hour); housekeeping sweeps older ones.
CREATE TABLE password_resets (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX password_resets_by_user ON password_resets (user_id, created_at);

-- A remote person's picture: the `icon` URL their actor named when last fetched
-- (noted_at), and our copy of it, re-encoded like an upload. image NULL: not fetched
-- yet, or it could not be (a generated picture is shown). A picture fetched before
-- the actor was last fetched (fetched_at < noted_at) is fetched again when next shown.
CREATE TABLE remote_avatars (
    acct TEXT PRIMARY KEY,
    icon_url TEXT NOT NULL,
    noted_at INTEGER NOT NULL,
    image BLOB,
    media_type TEXT NOT NULL DEFAULT '',
    fetched_at INTEGER NOT NULL DEFAULT 0
);
