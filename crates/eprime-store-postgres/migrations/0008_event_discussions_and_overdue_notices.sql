-- Discussions on menu events, and overdue feedback and reports announced once (see the SQLite
-- migration of the same number).

ALTER TABLE comments ALTER COLUMN partnership DROP NOT NULL;
ALTER TABLE comments DROP CONSTRAINT comments_subject_check;
ALTER TABLE comments ADD CONSTRAINT comments_subject_check
    CHECK (subject IN ('activity', 'document', 'element', 'offering'));
ALTER TABLE comments ADD CONSTRAINT comments_partnership_check CHECK ((subject = 'offering') = (partnership IS NULL));

ALTER TABLE notifications DROP CONSTRAINT notifications_reason_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_reason_check
    CHECK (reason IN ('watched', 'nomination', 'approval', 'mention', 'overdue_feedback', 'overdue_report'));

CREATE TABLE overdue_notices (
    kind       text NOT NULL CHECK (kind IN ('feedback', 'report')),
    record_id  uuid NOT NULL,
    noticed_at timestamptz NOT NULL,
    PRIMARY KEY (kind, record_id)
);
