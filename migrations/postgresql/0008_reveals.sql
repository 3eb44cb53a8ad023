-- PostgreSQL's version of ../0008_reveals.sql: BYTEA for BLOB, BIGINT where SQLite says INTEGER.
-- Credentials the developer portal shows once (a new client secret, an internal
-- app's tokens), kept from the form's POST until the GET it redirects to, which
-- another process may serve. Never in clear: `sealed` is AES-GCM under a key
-- derived from the session's raw token, which only the user's own requests carry
-- (the database holds only its digest), so a copy of the database cannot open it.
-- services/apps.py Reveals deletes a row as it reads it; expired rows are swept.
CREATE TABLE reveals (
    session_hash BYTEA NOT NULL REFERENCES sessions(token_hash) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    sealed BYTEA NOT NULL,          -- 12-byte nonce || ciphertext and tag
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (session_hash, client_id)
);
CREATE INDEX reveals_by_expiry ON reveals (expires_at);
