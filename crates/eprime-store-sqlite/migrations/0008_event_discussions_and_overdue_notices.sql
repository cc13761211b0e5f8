-- Discussions on menu events, and overdue feedback and reports announced once.

-- A comment may be about a menu event (an offering), which belongs to no partnership: the
-- partnership becomes optional and 'offering' a subject. SQLite cannot change a column or a CHECK
-- constraint in place, so the table is rebuilt (nothing refers to it; its releasability rows are
-- keyed by id and stay as they are).
CREATE TABLE comments_next (
    id          TEXT PRIMARY KEY,
    subject     TEXT NOT NULL CHECK (subject IN ('activity', 'document', 'element', 'offering')),
    subject_id  TEXT NOT NULL,
    partnership TEXT REFERENCES partnerships (partner),
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    mentions    TEXT NOT NULL, -- JSON array of usernames
    marking     TEXT NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT,
    -- A programme record's discussion belongs to its partnership; a menu event's to none.
    CHECK ((subject = 'offering') = (partnership IS NULL))
);
INSERT INTO comments_next SELECT id, subject, subject_id, partnership, author, body, mentions, marking, version,
    created_at, updated_at, deleted_at FROM comments;
DROP TABLE comments;
ALTER TABLE comments_next RENAME TO comments;
CREATE INDEX comments_by_subject ON comments (subject, subject_id, created_at);

-- Notifications gain the provider's reason: an after-action report overdue.
CREATE TABLE notifications_next (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    seq         INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('watched', 'nomination', 'approval', 'mention', 'overdue_feedback',
                                                'overdue_report')),
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

-- What has been announced overdue: a nomination's feedback ('feedback', record_id = the
-- nomination) or an offering's after-action report ('report', record_id = the offering). The
-- primary key makes the announcement happen once, whoever sweeps and however often.
CREATE TABLE overdue_notices (
    kind       TEXT NOT NULL CHECK (kind IN ('feedback', 'report')),
    record_id  TEXT NOT NULL,
    noticed_at TEXT NOT NULL,
    PRIMARY KEY (kind, record_id)
) WITHOUT ROWID;
