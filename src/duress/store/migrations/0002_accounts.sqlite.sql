-- Accounts: local users, API tokens and browser sessions. Mutable records, not events; every change
-- is also appended to the event log (account.*, token.*, session.*) for the audit trail.
CREATE TABLE users (
    name                 TEXT    PRIMARY KEY,
    role                 TEXT    NOT NULL,
    password_hash        TEXT    NOT NULL,                -- argon2id, PHC string
    units                TEXT    NOT NULL DEFAULT '',     -- unit ids, comma-separated (unit managers)
    staff                TEXT,                            -- the staff id this user is, if any
    disabled             INTEGER NOT NULL DEFAULT 0,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL,
    password_changed_at  TEXT    NOT NULL
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,                    -- SHA-256 of the secret, hex
    scopes      TEXT NOT NULL,                           -- comma-separated: ingest, read, act
    username    TEXT REFERENCES users (name),
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,                       -- SHA-256 of the cookie's secret, hex
    username     TEXT NOT NULL REFERENCES users (name),
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

CREATE INDEX sessions_user ON sessions (username);
