-- Rate limits shared by every process (RFC 6819 §5.1.4.2.3: limit guessing).
-- One row per counted attempt; services/throttle.py counts the rows of a key
-- inside its window and sweeps rows older than the window. Used on PostgreSQL,
-- where several processes serve one instance; one SQLite process counts in memory.
CREATE TABLE rate_limit_hits (
    id INTEGER PRIMARY KEY,
    throttle TEXT NOT NULL,   -- which limit: "login", "register"
    key TEXT NOT NULL,        -- what is limited, e.g. ["login-ip","203.0.113.5"] (JSON)
    hit_at INTEGER NOT NULL
);
CREATE INDEX rate_limit_hits_by_key ON rate_limit_hits (throttle, key, hit_at);
CREATE INDEX rate_limit_hits_by_time ON rate_limit_hits (throttle, hit_at);
