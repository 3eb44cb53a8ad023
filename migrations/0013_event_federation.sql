-- Events federate (SPEC §6): the instance's events actor, its followers, and friends'
-- events received from other instances.

-- The delivery queue signs as a local user, or, when user_id is NULL, as the instance's
-- events actor (federation/events_actor.py). SQLite cannot drop a NOT NULL in place, so
-- the table is made anew with the same rows, ids and indexes (no table refers to it).
CREATE TABLE deliveries_0013 (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,  -- who signs it; NULL: the events actor
    recipient TEXT NOT NULL,
    inbox TEXT,
    activity TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    first_tried_at INTEGER,
    last_error TEXT,
    delivered_at INTEGER,
    gave_up_at INTEGER,
    claimed_until INTEGER
);
INSERT INTO deliveries_0013 (id, user_id, recipient, inbox, activity, attempts, created_at, next_attempt_at,
                             first_tried_at, last_error, delivered_at, gave_up_at, claimed_until)
    SELECT id, user_id, recipient, inbox, activity, attempts, created_at, next_attempt_at,
           first_tried_at, last_error, delivered_at, gave_up_at, claimed_until FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_0013 RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX deliveries_pending_by_recipient ON deliveries (recipient, id)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- Key pairs of the instance's own actors (today one: 'events'), made on first need like
-- users' (actor_keys). The private key is read only to sign; never served or logged.
CREATE TABLE instance_keys (
    name TEXT PRIMARY KEY,
    public_pem TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Who follows the events actor (anyone: every Follow is accepted at once); an Undo ends it.
CREATE TABLE event_followers (
    actor_uri TEXT PRIMARY KEY REFERENCES remote_actors(uri) ON DELETE CASCADE,
    follow_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Events of remote friends, as their instance sent them (Create, then Update/Delete by
-- their author only). `uri` is the Event's id; `url` its page there; the text is plain.
CREATE TABLE remote_events (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    actor_uri TEXT NOT NULL,
    acct TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    start_datetime INTEGER NOT NULL,
    end_datetime INTEGER,
    place_name TEXT NOT NULL DEFAULT '',
    place_address TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',          -- tags joined by char(31)
    received_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX remote_events_by_start ON remote_events (start_datetime);

-- Feeds hold events until they end: find those by their end too.
CREATE INDEX events_by_end ON events (end_datetime);
