-- Discussions, watches and notifications.

-- A comment is about an activity, a document or a programme element, belongs to the same
-- partnership, and carries its own marking (the visibility rule reads it through
-- `releasability` with entity_type 'comment', and the subject must be visible too).
CREATE TABLE comments (
    id          TEXT PRIMARY KEY,
    subject     TEXT NOT NULL CHECK (subject IN ('activity', 'document', 'element')),
    subject_id  TEXT NOT NULL,
    partnership TEXT NOT NULL REFERENCES partnerships (partner),
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    mentions    TEXT NOT NULL, -- JSON array of usernames
    marking     TEXT NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE INDEX comments_by_subject ON comments (subject, subject_id, created_at);

CREATE TABLE watches (
    user_id    TEXT NOT NULL REFERENCES users (id),
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, entity, entity_id)
) WITHOUT ROWID;
CREATE INDEX watches_by_record ON watches (entity, entity_id);

-- One row per user and change: a change concerns a user once, for its strongest reason.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    seq         INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('watched', 'approval', 'mention')),
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    partnership TEXT,
    summary     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    read_at     TEXT,
    UNIQUE (user_id, seq)
);
CREATE INDEX notifications_by_user ON notifications (user_id, seq);

-- How far the notifier has read the change log. It starts at the log's end when this migration
-- runs: changes made before notifications existed notify nobody.
CREATE TABLE notifier (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
INSERT INTO notifier (id, last_seq) SELECT 1, coalesce(max(seq), 0) FROM change_log;
