-- OAuth 2.0 authorization server (SPEC §3). Every secret is stored as a SHA-256 digest.
CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    secret_hash BLOB,                      -- NULL for public clients
    registration_token_hash BLOB,          -- RFC 7592 registration access token
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    website TEXT NOT NULL DEFAULT '',
    redirect_uris TEXT NOT NULL,           -- JSON array
    scopes TEXT NOT NULL,                  -- space-separated
    auth_method TEXT NOT NULL,             -- client_secret_basic | client_secret_post | none
    source TEXT NOT NULL,                  -- portal | gancio | rfc7591 | cimd
    status TEXT NOT NULL DEFAULT 'active', -- active | pending | disabled
    owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    registered_ip TEXT,
    metadata_expires_at INTEGER,           -- CIMD cache lifetime
    created_at INTEGER NOT NULL
);
CREATE INDEX clients_by_owner ON clients (owner_id);
CREATE INDEX clients_by_ip ON clients (registered_ip, created_at);

-- An authorization request shown on the consent page; the POST acts on this row only.
CREATE TABLE authorization_requests (
    id_hash BLOB PRIMARY KEY,
    session_hash BLOB NOT NULL,
    client_pk INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    redirect_uri_sent INTEGER NOT NULL,
    scope TEXT NOT NULL,
    state TEXT,
    code_challenge TEXT,
    replace_existing INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
);

-- A grant is one user's authorization of one client: the family of every token
-- that descends from one code (or one internal-app mint). Revoking it ends them all.
CREATE TABLE grants (
    id INTEGER PRIMARY KEY,
    client_pk INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX grants_by_user_client ON grants (user_id, client_pk);
CREATE INDEX grants_by_client ON grants (client_pk);

CREATE TABLE authorization_codes (
    code_hash BLOB PRIMARY KEY,
    client_pk INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    redirect_uri_sent INTEGER NOT NULL,
    scope TEXT NOT NULL,
    code_challenge TEXT,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    grant_id INTEGER REFERENCES grants(id) ON DELETE SET NULL
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);

CREATE TABLE tokens (
    token_hash BLOB PRIMARY KEY,
    grant_id INTEGER NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                    -- access | refresh
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,                    -- NULL = never
    spent_at INTEGER,                      -- refresh token already rotated
    revoked_at INTEGER
);
CREATE INDEX tokens_by_grant ON tokens (grant_id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

-- Remembered consent: the scopes a user allowed a client, for silent re-authorization.
CREATE TABLE consents (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_pk INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_pk)
);
