-- Calendar feeds: secret URLs a calendar application polls for a user's menu events and
-- deadlines. Only the SHA-256 of the token is kept; a feed token reads that feed and nothing else.
CREATE TABLE calendar_feeds (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    name       text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX calendar_feeds_by_user ON calendar_feeds (user_id, created_at);

-- Notifications gain the menu's reasons: a nomination to decide on or decided, feedback overdue.
ALTER TABLE notifications DROP CONSTRAINT notifications_reason_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_reason_check
    CHECK (reason IN ('watched', 'nomination', 'approval', 'mention', 'overdue_feedback'));
