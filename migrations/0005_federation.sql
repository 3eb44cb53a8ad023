-- Federation: friends across instances over ActivityPub (SPEC §6).

-- Each local user's RSA key pair (PEM), made on first need. The private key is
-- read only to sign outgoing requests; it is never served, logged or exported.
CREATE TABLE actor_keys (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    public_pem TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Remote actors this instance has fetched (and checked): how to reach them and
-- the key that verifies their signatures. `acct` is name@domain, as users type it.
CREATE TABLE remote_actors (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    acct TEXT NOT NULL UNIQUE,
    inbox TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_pem TEXT NOT NULL,
    fetched_at INTEGER NOT NULL
);
CREATE INDEX remote_actors_by_key ON remote_actors (key_id);

-- The Follow activity behind a friend request: ours (we sent it) or theirs (it
-- came in), so Accept, Reject and Undo can name it.
ALTER TABLE friend_requests ADD COLUMN activity_id TEXT;
CREATE INDEX friend_requests_by_activity ON friend_requests (activity_id) WHERE activity_id IS NOT NULL;

-- The outbox: one row per activity and recipient, kept until delivered or given
-- up, so a restart or an unreachable peer loses nothing. `inbox` is filled in
-- once the recipient's acct has been resolved (WebFinger, then the actor).
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,  -- who signs it
    recipient TEXT NOT NULL,                                          -- acct name@domain
    inbox TEXT,
    activity TEXT NOT NULL,                                           -- JSON
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    first_tried_at INTEGER,
    last_error TEXT,
    delivered_at INTEGER,
    gave_up_at INTEGER
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX deliveries_pending_by_recipient ON deliveries (recipient, id)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- Activity ids already applied by the inbox: the same activity delivered twice
-- (a retry, a replay inside the Date window) changes nothing the second time.
CREATE TABLE inbox_seen (
    activity_id TEXT PRIMARY KEY,
    actor TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX inbox_seen_by_time ON inbox_seen (received_at);
