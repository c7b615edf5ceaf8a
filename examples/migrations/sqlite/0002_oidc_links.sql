-- Sign in with OpenID Connect: which account an identity at a provider (issuer, subject) signs
-- in as. The same in both databases but for the integer type.
CREATE TABLE oidc_links (
    issuer      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_links_user ON oidc_links (user_id);
