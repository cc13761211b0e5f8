-- e-PRIME core schema (PostgreSQL). The same tables as the SQLite schema, in native types:
-- `uuid` identifiers, `date` dates, `timestamptz` instants, `jsonb` for what is only shown
-- (signatories, approvals, sources, change-log snapshots). Lists that are queried
-- (participants, supported elements, areas, releasability) are tables, as in SQLite, because
-- the visibility rule and the filters read them.
--
-- Text columns keep the database's collation (mixing collations in joins is an error); the few
-- orderings that must match SQLite's byte order say `COLLATE "C"` where they sort.

-- The list order of activities as one text key, `YYYY-MM-DD|<uuid>` (undated: `0000-00-00|…`),
-- byte-for-byte the SQLite key, so cursors are interchangeable between the two stores.
-- A function because a generated column needs an immutable expression and `date::text` is not
-- (it follows DateStyle); `to_char` with a numeric-only pattern does not depend on any setting.
CREATE FUNCTION activity_sort_key(starts_on date, id uuid) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(to_char(starts_on, 'YYYY-MM-DD'), '0000-00-00') || '|' || id::text $$;

CREATE TABLE organisations (
    code    text PRIMARY KEY,
    name    text NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('nato_body', 'ally', 'partner', 'provider')),
    country text
);

CREATE TABLE areas (
    code  text PRIMARY KEY,
    title text NOT NULL
);

CREATE TABLE partnerships (
    partner    text PRIMARY KEY,
    name       text NOT NULL,
    framework  text NOT NULL,
    since      text NOT NULL,
    summary    text NOT NULL,
    marking    text NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version    bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE documents (
    id                    uuid PRIMARY KEY,
    partnership           text NOT NULL REFERENCES partnerships (partner),
    kind                  text NOT NULL,
    title                 text NOT NULL,
    edition               text NOT NULL CHECK (edition IN ('open', 'restricted')),
    status                text NOT NULL CHECK (status IN ('draft', 'agreed', 'in_force', 'superseded')),
    signed_on             date,
    signed_at             text,
    published_on          date,
    period_from           date,
    period_to             date,
    entered_into_force_on date,
    signatories           jsonb NOT NULL,
    approvals             jsonb NOT NULL,
    supersedes            uuid REFERENCES documents (id),
    source                text,
    notes                 text NOT NULL,
    content_hash          text,
    marking               text NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version               bigint NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX documents_by_partnership ON documents (partnership, signed_on);
CREATE UNIQUE INDEX documents_by_hash ON documents (partnership, content_hash) WHERE content_hash IS NOT NULL;

CREATE TABLE elements (
    id          uuid PRIMARY KEY,
    document    uuid NOT NULL REFERENCES documents (id),
    kind        text NOT NULL,
    code        text NOT NULL,
    title       text NOT NULL,
    text        text NOT NULL,
    parent      uuid REFERENCES elements (id),
    position    bigint NOT NULL,
    source_line bigint,
    UNIQUE (document, kind, code)
);
CREATE INDEX elements_by_document ON elements (document, position);

CREATE TABLE activities (
    id            uuid PRIMARY KEY,
    partnership   text NOT NULL REFERENCES partnerships (partner),
    title         text NOT NULL,
    description   text NOT NULL,
    kind          text NOT NULL,
    starts_on     date,
    ends_on       date,
    location      text,
    lead          text REFERENCES organisations (code),
    status        text NOT NULL,
    status_reason text,
    outcome       text NOT NULL,
    source        jsonb,
    marking       text NOT NULL CHECK (marking IN ('PUBLIC', 'NATO UNCLASSIFIED')),
    version       bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- The list order (newest start first, undated last) as one sortable key, so cursors are a
    -- single comparison and an index serves every page. Byte order ("C"), as in SQLite,
    -- whatever the database's collation.
    sort_key      text COLLATE "C" NOT NULL GENERATED ALWAYS AS (activity_sort_key(starts_on, id)) STORED
);
CREATE INDEX activities_by_partnership ON activities (partnership, sort_key);
CREATE INDEX activities_by_sort_key ON activities (sort_key);
CREATE INDEX activities_by_status ON activities (status, sort_key);

CREATE TABLE activity_participants (
    activity uuid NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    org      text NOT NULL REFERENCES organisations (code),
    PRIMARY KEY (activity, org)
);

CREATE TABLE activity_elements (
    activity uuid NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    element  uuid NOT NULL REFERENCES elements (id),
    PRIMARY KEY (activity, element)
);
CREATE INDEX activity_elements_by_element ON activity_elements (element, activity);

CREATE TABLE activity_areas (
    activity uuid NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    area     text NOT NULL REFERENCES areas (code),
    PRIMARY KEY (activity, area)
);

-- Who a NATO UNCLASSIFIED record is released to. The visibility rule reads this table.
-- `entity_id` is text because it holds partner codes as well as uuids (as text, as in the change log).
CREATE TABLE releasability (
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    org         text NOT NULL,
    PRIMARY KEY (entity_type, entity_id, org)
);
CREATE INDEX releasability_by_org ON releasability (org, entity_type, entity_id);

-- Append-only: rows are inserted in the same transaction as the change they record and never
-- updated, deleted or truncated (the triggers below refuse it). Writers take an EXCLUSIVE lock
-- on this table before appending (readers are not blocked), so sequence order is commit order.
CREATE TABLE change_log (
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text,
    entity    text NOT NULL,
    entity_id text NOT NULL,
    operation text NOT NULL,
    before    jsonb,
    after     jsonb
);
CREATE INDEX change_log_by_entity ON change_log (entity, entity_id, seq);

CREATE FUNCTION change_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the change log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER change_log_no_update BEFORE UPDATE OR DELETE ON change_log
    FOR EACH ROW EXECUTE FUNCTION change_log_append_only();
CREATE TRIGGER change_log_no_truncate BEFORE TRUNCATE ON change_log
    FOR EACH STATEMENT EXECUTE FUNCTION change_log_append_only();

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    role          text NOT NULL,
    partner       text,
    organisation  text,
    disabled      boolean NOT NULL DEFAULT false,
    password_hash text NOT NULL,
    version       bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_by_user ON sessions (user_id);
