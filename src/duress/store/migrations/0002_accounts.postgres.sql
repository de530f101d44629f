-- Accounts: local users, API tokens and browser sessions. Mutable records, not events; every change
-- is also appended to the event log (account.*, token.*, session.*) for the audit trail.
CREATE TABLE users (
    name                 text        PRIMARY KEY,
    role                 text        NOT NULL,
    password_hash        text        NOT NULL,            -- argon2id, PHC string
    units                text        NOT NULL DEFAULT '', -- unit ids, comma-separated (unit managers)
    staff                text,                            -- the staff id this user is, if any
    disabled             boolean     NOT NULL DEFAULT false,
    must_change_password boolean     NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL,
    password_changed_at  timestamptz NOT NULL
);

CREATE TABLE api_tokens (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    token_hash  text        NOT NULL UNIQUE,             -- SHA-256 of the secret, hex
    scopes      text        NOT NULL,                    -- comma-separated: ingest, read, act
    username    text        REFERENCES users (name),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz
);

CREATE TABLE sessions (
    id_hash      text        PRIMARY KEY,                -- SHA-256 of the cookie's secret, hex
    username     text        NOT NULL REFERENCES users (name),
    csrf         text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);

CREATE INDEX sessions_user ON sessions (username);
