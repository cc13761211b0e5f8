-- e-PRIME core schema (SQLite). Dates are ISO `YYYY-MM-DD` text, instants RFC 3339 text in UTC,
-- identifiers UUIDv7 text. Lists that are queried (participants, supported elements, areas,
-- releasability) are tables; lists that are only shown (signatories, approvals) are JSON.

CREATE TABLE organisations (
    code    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('nato_body', 'ally', 'partner', 'provider')),
    country TEXT
);

CREATE TABLE areas (
    code  TEXT PRIMARY KEY,
    title TEXT NOT NULL
);

CREATE TABLE partnerships (
    partner    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    framework  TEXT NOT NULL,
    since      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    marking    TEXT NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE documents (
    id                    TEXT PRIMARY KEY,
    partnership           TEXT NOT NULL REFERENCES partnerships (partner),
    kind                  TEXT NOT NULL,
    title                 TEXT NOT NULL,
    edition               TEXT NOT NULL CHECK (edition IN ('open', 'restricted')),
    status                TEXT NOT NULL CHECK (status IN ('draft', 'agreed', 'in_force', 'superseded')),
    signed_on             TEXT,
    signed_at             TEXT,
    published_on          TEXT,
    period_from           TEXT,
    period_to             TEXT,
    entered_into_force_on TEXT,
    signatories           TEXT NOT NULL,
    approvals             TEXT NOT NULL,
    supersedes            TEXT REFERENCES documents (id),
    source                TEXT,
    notes                 TEXT NOT NULL,
    content_hash          TEXT,
    marking               TEXT NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version               INTEGER NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX documents_by_partnership ON documents (partnership, signed_on);
CREATE UNIQUE INDEX documents_by_hash ON documents (partnership, content_hash) WHERE content_hash IS NOT NULL;

CREATE TABLE elements (
    id          TEXT PRIMARY KEY,
    document    TEXT NOT NULL REFERENCES documents (id),
    kind        TEXT NOT NULL,
    code        TEXT NOT NULL,
    title       TEXT NOT NULL,
    text        TEXT NOT NULL,
    parent      TEXT REFERENCES elements (id),
    position    INTEGER NOT NULL,
    source_line INTEGER,
    UNIQUE (document, kind, code)
);
CREATE INDEX elements_by_document ON elements (document, position);

CREATE TABLE activities (
    id            TEXT PRIMARY KEY,
    partnership   TEXT NOT NULL REFERENCES partnerships (partner),
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    starts_on     TEXT,
    ends_on       TEXT,
    location      TEXT,
    lead          TEXT REFERENCES organisations (code),
    status        TEXT NOT NULL,
    status_reason TEXT,
    outcome       TEXT NOT NULL,
    source        TEXT,
    marking       TEXT NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    -- The list order (newest start first, undated last) as one sortable key, so cursors are a
    -- single comparison and an index serves every page.
    sort_key      TEXT NOT NULL GENERATED ALWAYS AS (coalesce(starts_on, '0000-00-00') || '|' || id) STORED
);
CREATE INDEX activities_by_partnership ON activities (partnership, sort_key);
CREATE INDEX activities_by_sort_key ON activities (sort_key);
CREATE INDEX activities_by_status ON activities (status, sort_key);

CREATE TABLE activity_participants (
    activity TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    org      TEXT NOT NULL REFERENCES organisations (code),
    PRIMARY KEY (activity, org)
) WITHOUT ROWID;

CREATE TABLE activity_elements (
    activity TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    element  TEXT NOT NULL REFERENCES elements (id),
    PRIMARY KEY (activity, element)
) WITHOUT ROWID;
CREATE INDEX activity_elements_by_element ON activity_elements (element, activity);

CREATE TABLE activity_areas (
    activity TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    area     TEXT NOT NULL REFERENCES areas (code),
    PRIMARY KEY (activity, area)
) WITHOUT ROWID;

-- Who a NATO UNCLASSIFIED record is released to. The visibility rule reads this table.
CREATE TABLE releasability (
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    org         TEXT NOT NULL,
    PRIMARY KEY (entity_type, entity_id, org)
) WITHOUT ROWID;
CREATE INDEX releasability_by_org ON releasability (org, entity_type, entity_id);

-- Append-only: rows are inserted in the same transaction as the change they record and never
-- updated or deleted (the triggers below refuse it).
CREATE TABLE change_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    before    TEXT,
    after     TEXT
);
CREATE INDEX change_log_by_entity ON change_log (entity, entity_id, seq);
CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    partner       TEXT,
    organisation  TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);
