-- The demo's signing keys, made once at its first start and kept with its data, so a restart
-- (or another instance on the same database) keeps every login and remember cookie. One row;
-- the first instance to insert it wins, the others read it back. Deleting the row (or the
-- database) logs everyone out. The same in both databases.
CREATE TABLE demo_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    login_key   TEXT    NOT NULL,
    session_key TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
