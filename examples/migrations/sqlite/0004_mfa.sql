-- Second factors (login-mfa): TOTP secrets (only encrypted, AES-256-GCM under a subkey of the
-- app's key) with the last step used, recovery codes (only keyed hashes), passkeys (public
-- keys and counters), and the WebAuthn ceremonies between their two requests. The same in
-- both databases but for the integer type.
CREATE TABLE mfa_totp (
    user_id       TEXT    PRIMARY KEY,
    sealed_secret TEXT    NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 0,
    last_step     INTEGER
);

CREATE TABLE mfa_recovery_codes (
    user_id  TEXT    NOT NULL,
    hash     TEXT    NOT NULL,
    used_at  INTEGER,
    PRIMARY KEY (user_id, hash)
);

CREATE TABLE mfa_passkeys (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    passkey    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_used  INTEGER
);
CREATE INDEX mfa_passkeys_user ON mfa_passkeys (user_id);

CREATE TABLE mfa_ceremonies (
    id         TEXT    PRIMARY KEY,
    state      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
