-- The Partnership Cooperation Menu: offerings and nominations. Lists that are only shown
-- (sessions, contact, eligibility, prerequisites, report, participant, feedback) are JSON; what
-- is counted or filtered on has its own column. Search runs in the search index, not here.

CREATE TABLE offerings (
    id                      TEXT PRIMARY KEY,
    code                    TEXT NOT NULL UNIQUE,
    title                   TEXT NOT NULL,
    description             TEXT NOT NULL,
    areas                   TEXT NOT NULL,
    event_type              TEXT NOT NULL,
    provider                TEXT NOT NULL REFERENCES organisations (code),
    contact                 TEXT NOT NULL,
    sessions                TEXT NOT NULL,
    first_day               TEXT NOT NULL,
    last_day                TEXT NOT NULL,
    seats                   INTEGER NOT NULL CHECK (seats > 0),
    nation_quota            INTEGER NOT NULL CHECK (nation_quota > 0),
    eligibility             TEXT NOT NULL,
    prerequisites           TEXT NOT NULL,
    nomination_deadline     TEXT NOT NULL,
    fees                    TEXT NOT NULL,
    status                  TEXT NOT NULL,
    status_reason           TEXT,
    -- Kept equal to the count of accepted / waitlisted nominations by the writes that change them.
    seats_taken             INTEGER NOT NULL DEFAULT 0 CHECK (seats_taken <= seats),
    waitlisted              INTEGER NOT NULL DEFAULT 0,
    report                  TEXT,
    requested_releasable_to TEXT NOT NULL,
    marking                 TEXT NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version                 INTEGER NOT NULL,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    sort_key                TEXT NOT NULL GENERATED ALWAYS AS (first_day || '|' || id) STORED
);
CREATE INDEX offerings_by_sort_key ON offerings (sort_key);
CREATE INDEX offerings_by_provider ON offerings (provider, sort_key);

CREATE TABLE nominations (
    id            TEXT PRIMARY KEY,
    offering      TEXT NOT NULL REFERENCES offerings (id),
    nation        TEXT NOT NULL,
    participant   TEXT NOT NULL,
    email         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('nominated', 'accepted', 'waitlisted', 'rejected', 'withdrawn')),
    status_reason TEXT,
    -- When it joined the waiting list: the list is served first come, first served.
    waitlisted_at TEXT,
    attendance    TEXT CHECK (attendance IN ('attended', 'absent')),
    feedback      TEXT,
    nominated_by  TEXT NOT NULL,
    marking       TEXT NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX nominations_by_offering ON nominations (offering, nation, status);
CREATE INDEX nominations_by_email ON nominations (email);
-- One person holds at most one open nomination per event.
CREATE UNIQUE INDEX nominations_one_open_per_person ON nominations (offering, email)
    WHERE status IN ('nominated', 'accepted', 'waitlisted');

-- A cooperation activity may be a partner's adoption of a menu event into its programme.
ALTER TABLE activities ADD COLUMN offering TEXT REFERENCES offerings (id);
CREATE INDEX activities_by_offering ON activities (offering) WHERE offering IS NOT NULL;
