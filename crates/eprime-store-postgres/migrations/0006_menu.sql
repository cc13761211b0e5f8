-- The Partnership Cooperation Menu: offerings and nominations (see the SQLite migration of the
-- same number). Lists that are only shown (sessions, contact, eligibility, prerequisites, report,
-- participant, feedback) are jsonb; what is counted or filtered on has its own column.

CREATE TABLE offerings (
    id                      uuid PRIMARY KEY,
    code                    text NOT NULL UNIQUE,
    title                   text NOT NULL,
    description             text NOT NULL,
    areas                   jsonb NOT NULL,
    event_type              text NOT NULL,
    provider                text NOT NULL REFERENCES organisations (code),
    contact                 jsonb NOT NULL,
    sessions                jsonb NOT NULL,
    first_day               date NOT NULL,
    last_day                date NOT NULL,
    seats                   integer NOT NULL CHECK (seats > 0),
    nation_quota            integer NOT NULL CHECK (nation_quota > 0),
    eligibility             jsonb NOT NULL,
    prerequisites           jsonb NOT NULL,
    nomination_deadline     date NOT NULL,
    fees                    text NOT NULL,
    status                  text NOT NULL,
    status_reason           text,
    -- Kept equal to the count of accepted / waitlisted nominations by the writes that change them
    -- (which hold this row locked). The CHECK is the last line against overbooking.
    seats_taken             integer NOT NULL DEFAULT 0 CHECK (seats_taken <= seats),
    waitlisted              integer NOT NULL DEFAULT 0,
    report                  jsonb,
    requested_releasable_to jsonb NOT NULL,
    marking                 text NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version                 bigint NOT NULL,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    -- `YYYY-MM-DD|<uuid>`, byte-for-byte SQLite's key (first_day is never null, so
    -- activity_sort_key's undated case never applies), in byte order whatever the collation.
    sort_key                text COLLATE "C" NOT NULL GENERATED ALWAYS AS (activity_sort_key(first_day, id)) STORED
);
CREATE INDEX offerings_by_sort_key ON offerings (sort_key);
CREATE INDEX offerings_by_provider ON offerings (provider, sort_key);

CREATE TABLE nominations (
    id            uuid PRIMARY KEY,
    offering      uuid NOT NULL REFERENCES offerings (id),
    nation        text NOT NULL,
    participant   jsonb NOT NULL,
    email         text NOT NULL,
    status        text NOT NULL CHECK (status IN ('nominated', 'accepted', 'waitlisted', 'rejected', 'withdrawn')),
    status_reason text,
    -- When it joined the waiting list: the list is served first come, first served.
    waitlisted_at timestamptz,
    attendance    text CHECK (attendance IN ('attended', 'absent')),
    feedback      jsonb,
    nominated_by  text NOT NULL,
    marking       text NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version       bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX nominations_by_offering ON nominations (offering, nation, status);
CREATE INDEX nominations_by_email ON nominations (email);
-- One person holds at most one open nomination per event.
CREATE UNIQUE INDEX nominations_one_open_per_person ON nominations (offering, email)
    WHERE status IN ('nominated', 'accepted', 'waitlisted');

-- A cooperation activity may be a partner's adoption of a menu event into its programme.
ALTER TABLE activities ADD COLUMN offering uuid REFERENCES offerings (id);
CREATE INDEX activities_by_offering ON activities (offering) WHERE offering IS NOT NULL;
