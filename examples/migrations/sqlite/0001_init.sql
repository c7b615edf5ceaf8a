-- The demo's tables. The PostgreSQL twin (../postgres/0001_init.sql) differs only in how ids
-- are generated; both keep to integer, text and bytes columns, which sqlx's Any driver maps.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    label       TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    event    TEXT    NOT NULL,
    user_id  INTEGER,
    client   TEXT    NOT NULL,
    detail   TEXT    NOT NULL
);

CREATE TABLE login_failures (
    bucket      TEXT    PRIMARY KEY,
    failures    INTEGER NOT NULL,
    window_ends INTEGER NOT NULL
);
