-- Webhooks: an organisation's endpoints that receive the changes it may see, signed, retried and
-- logged.
--
-- `followers` holds the position of each follower of the change log that must not lose its
-- place across restarts or instances; `webhooks` is the follower that queues deliveries. It
-- starts at the current end of the log: a webhook receives only changes made after it exists.
CREATE TABLE IF NOT EXISTS followers (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
INSERT INTO followers (name, position)
    VALUES ('webhooks', (SELECT coalesce(max(seq), 0) FROM change_log))
    ON CONFLICT (name) DO NOTHING;

-- The secret is kept as given (it is needed to sign), never returned after creation and never
-- written to the change log.
CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    organisation      TEXT NOT NULL REFERENCES organisations (code),
    organisation_kind TEXT NOT NULL,
    url               TEXT NOT NULL,
    description       TEXT NOT NULL,
    partnership       TEXT,
    entities          TEXT,
    active            INTEGER NOT NULL,
    secret            TEXT NOT NULL,
    since_seq         INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    created_by        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX webhooks_by_organisation ON webhooks (organisation, id);

-- One change for one webhook. `next_attempt_ms` (Unix milliseconds, so due times compare as
-- numbers) is when a pending delivery is due; a claim moves it forward by the lease.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook         TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    round_attempts  INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    delivered_at    TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (webhook, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook, id);

CREATE TABLE webhook_attempts (
    delivery    TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    at          TEXT NOT NULL,
    status      INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery, number)
);
