-- What people see of each other, and what tells them something happened (SPEC §2 "More
-- about accounts", §4 avatar/timezone fields and notifications). Shared by the people,
-- notifications, events and app features of this wave.

-- email: optional, for password reset; unique whatever its case.
-- timezone: an IANA name; '' means the instance's [instance] timezone.
-- locale: the language chosen in settings; '' means the browser's Accept-Language.
-- avatar_version: 0 = the generated default; bumped on every upload, so the image's URL
-- changes with it and caches may keep each version for ever.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN timezone TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar_version INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_by_email ON users (lower(email)) WHERE email IS NOT NULL;

-- An uploaded avatar, already re-encoded (square, at most 400 px, no metadata). Kept in
-- the database, so `fync backup` and `fync db copy` carry it with everything else.
CREATE TABLE avatars (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    image BLOB NOT NULL,
    media_type TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The zone an event's local times were given in; '' on events made before: the owner's.
ALTER TABLE events ADD COLUMN timezone TEXT NOT NULL DEFAULT '';

-- What happened to someone: a friend request received, accepted, a friend's new event.
-- The actor is a local user (actor_user_id) or a remote acct; object_id is the request
-- or event the notification is about. read_at NULL = unread.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    actor_acct TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    object_id INTEGER,
    url TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;
