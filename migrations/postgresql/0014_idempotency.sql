-- PostgreSQL's version of ../0014_idempotency.sql: BIGINT, BYTEA. Same meaning.
-- Answers given to API POSTs that carried an `Idempotency-Key` header
-- (draft-ietf-httpapi-idempotency-key-header), so a client that sends again after losing
-- the answer (the Fync app's offline queue, SPEC §9) gets the first answer back instead
-- of doing the thing twice. Keys belong to one person and one app: nobody else's key can
-- collide with or read another's. request_hash: SHA-256 of method, path, media type and
-- body, so the same key with another request is refused. status NULL: still being
-- answered. Rows are kept 24 h (expires_at), then swept by housekeeping.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_pk BIGINT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    idem_key TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status INTEGER,
    body TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_pk, idem_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
