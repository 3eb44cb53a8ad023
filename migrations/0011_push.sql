-- Web Push (SPEC §4 "Web Push"; RFC 8030, 8291, 8292): the devices people's apps
-- subscribed, and the pushes waiting to go to them.

-- A browser's PushSubscription, held by one grant (one app's authorization by one
-- person): it lives as long as that grant. A grant deleted (its app or person
-- deleted) takes it along (cascade); a grant revoked — whichever way: the person's
-- settings, RFC 7009, refresh-token reuse, a password change, a replaced token, an
-- app disabled — deletes it through the trigger below, so no path can forget it.
-- user_id repeats the grant's, so queuing a push needs no join.
-- p256dh (65-byte P-256 point) and auth (16 bytes) are kept base64url, as sent.
CREATE TABLE push_subscriptions (
    id INTEGER PRIMARY KEY,
    grant_id INTEGER NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_delivered_at INTEGER
);
CREATE UNIQUE INDEX push_subscriptions_by_grant ON push_subscriptions (grant_id, endpoint);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id);

CREATE TRIGGER push_subscriptions_end_with_grant AFTER UPDATE OF revoked_at ON grants
WHEN NEW.revoked_at IS NOT NULL
BEGIN
    DELETE FROM push_subscriptions WHERE grant_id = NEW.id;
END;

-- One push to send: a notification to one subscription. Queued by the trigger below in
-- the very transaction that records the notification, so a crash right after the commit
-- loses none; deleted once the push service took it, or given up (logged). The worker
-- claims rows with a lease (claimed_until) as federation's does (0007).
CREATE TABLE push_deliveries (
    id INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES push_subscriptions(id) ON DELETE CASCADE,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_tried_at INTEGER,
    claimed_until INTEGER,
    last_error TEXT
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at);
CREATE INDEX push_deliveries_by_subscription ON push_deliveries (subscription_id);
CREATE INDEX push_deliveries_by_notification ON push_deliveries (notification_id);

-- Someone without subscriptions costs one empty index lookup per notification: no
-- statement, no write.
CREATE TRIGGER notifications_queue_pushes AFTER INSERT ON notifications
BEGIN
    INSERT INTO push_deliveries (subscription_id, notification_id, created_at, next_attempt_at)
    SELECT id, NEW.id, NEW.created_at, NEW.created_at FROM push_subscriptions WHERE user_id = NEW.user_id;
END;
