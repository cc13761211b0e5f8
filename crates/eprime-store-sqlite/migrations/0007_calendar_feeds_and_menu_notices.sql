-- Calendar feeds: secret URLs a calendar application polls for a user's menu events and
-- deadlines. Only the SHA-256 of the token is kept; a feed token reads that feed and nothing else.
CREATE TABLE calendar_feeds (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX calendar_feeds_by_user ON calendar_feeds (user_id, created_at);

-- Notifications gain the menu's reasons: a nomination to decide on or decided, feedback overdue.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt (nothing refers to it).
CREATE TABLE notifications_next (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    seq         INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('watched', 'nomination', 'approval', 'mention', 'overdue_feedback')),
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    partnership TEXT,
    summary     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    read_at     TEXT,
    UNIQUE (user_id, seq)
);
INSERT INTO notifications_next SELECT id, user_id, seq, reason, entity, entity_id, partnership, summary, created_at, read_at
    FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_next RENAME TO notifications;
CREATE INDEX notifications_by_user ON notifications (user_id, seq);
