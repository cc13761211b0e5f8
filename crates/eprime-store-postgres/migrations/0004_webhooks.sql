-- Webhooks (the same change as the SQLite store's migration 0004, so both stores report the same
-- schema version): an organisation's endpoints that receive the changes it may see, signed,
-- retried and logged.
--
-- `followers` holds the position of each follower of the change log that must not lose its
-- place across restarts or instances; `webhooks` is the follower that queues deliveries (its row
-- is locked FOR UPDATE while it does, so instances never queue a change twice). It starts at the
-- current end of the log: a webhook receives only changes made after it exists.
CREATE TABLE IF NOT EXISTS followers (
    name     text PRIMARY KEY,
    position bigint NOT NULL
);
INSERT INTO followers (name, position)
    VALUES ('webhooks', (SELECT coalesce(max(seq), 0) FROM change_log))
    ON CONFLICT (name) DO NOTHING;

-- The secret is kept as given (it is needed to sign), never returned after creation and never
-- written to the change log.
CREATE TABLE webhooks (
    id                uuid PRIMARY KEY,
    organisation      text NOT NULL REFERENCES organisations (code),
    organisation_kind text NOT NULL,
    url               text NOT NULL,
    description       text NOT NULL,
    partnership       text,
    entities          text,
    active            boolean NOT NULL,
    secret            text NOT NULL,
    since_seq         bigint NOT NULL,
    version           bigint NOT NULL,
    created_by        text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX webhooks_by_organisation ON webhooks (organisation, id);

-- One change for one webhook. `next_attempt_ms` (Unix milliseconds, as on SQLite) is when a
-- pending delivery is due; a claim (FOR UPDATE SKIP LOCKED) moves it forward by the lease.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    webhook         uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        bigint NOT NULL,
    round_attempts  bigint NOT NULL,
    next_attempt_ms bigint NOT NULL,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL,
    UNIQUE (webhook, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook, id);

CREATE TABLE webhook_attempts (
    delivery    uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number      bigint NOT NULL,
    at          timestamptz NOT NULL,
    status      bigint,
    error       text,
    duration_ms bigint NOT NULL,
    PRIMARY KEY (delivery, number)
);
