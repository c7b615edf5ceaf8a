-- Account lifecycle (login-account): every member has an email address (lower case; NULL for
-- accounts made before, such as OpenID Connect members), confirmed or not, and the tokens the
-- account flows mail are kept here, only as keyed hashes. The same in both databases but for
-- the integer type.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE account_tokens (
    hash        TEXT    PRIMARY KEY,
    purpose     TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    binding     TEXT    NOT NULL,
    data        TEXT,
    code_hash   TEXT,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);
