-- Discussions, watches and notifications (see the SQLite migration of the same number).

CREATE TABLE comments (
    id          uuid PRIMARY KEY,
    subject     text NOT NULL CHECK (subject IN ('activity', 'document', 'element')),
    subject_id  uuid NOT NULL,
    partnership text NOT NULL REFERENCES partnerships (partner),
    author      text NOT NULL,
    body        text NOT NULL,
    mentions    jsonb NOT NULL,
    marking     text NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz
);
CREATE INDEX comments_by_subject ON comments (subject, subject_id, created_at);

CREATE TABLE watches (
    user_id    uuid NOT NULL REFERENCES users (id),
    entity     text NOT NULL,
    entity_id  text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, entity, entity_id)
);
CREATE INDEX watches_by_record ON watches (entity, entity_id);

CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    seq         bigint NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('watched', 'approval', 'mention')),
    entity      text NOT NULL,
    entity_id   text NOT NULL,
    partnership text,
    summary     text NOT NULL,
    created_at  timestamptz NOT NULL,
    read_at     timestamptz,
    UNIQUE (user_id, seq)
);
CREATE INDEX notifications_by_user ON notifications (user_id, seq);

-- The notifier's position in the change log; its row is locked while a batch is processed, so
-- several instances never notify twice.
CREATE TABLE notifier (
    id       integer PRIMARY KEY CHECK (id = 1),
    last_seq bigint NOT NULL
);
INSERT INTO notifier (id, last_seq) SELECT 1, coalesce(max(seq), 0) FROM change_log;
