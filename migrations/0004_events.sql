-- Community events, Gancio-like (SPEC §2 /events, §4 /api/events). Times are unix seconds, UTC.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    start_datetime INTEGER NOT NULL,
    end_datetime INTEGER,                  -- NULL: no announced end
    place_name TEXT NOT NULL DEFAULT '',
    place_address TEXT NOT NULL DEFAULT '',
    published INTEGER NOT NULL DEFAULT 1,  -- 0: a draft only its owner sees
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Lists page over (start_datetime, id); the rowid rides along in every index,
-- so these serve that order without a sort.
CREATE INDEX events_by_start ON events (start_datetime);
CREATE INDEX events_by_owner ON events (owner_id, start_datetime);

CREATE TABLE event_tags (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (event_id, tag)
);
CREATE INDEX event_tags_by_tag ON event_tags (tag, event_id);
