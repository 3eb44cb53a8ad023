-- Check-ins: who said "I'm here" at which community event. One per person per event.
CREATE TABLE checkins (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    UNIQUE (event_id, user_id)
);
-- Listing an event's check-ins pages over id.
CREATE INDEX checkins_by_event ON checkins (event_id, id);
