-- Audit and API tokens (the same change as the SQLite store's migration 0002, so both stores
-- report the same schema version).
--
-- The change log also records security events (sign-ins, failed sign-ins, sign-outs, API tokens
-- created and revoked) as entries about the entity `account`, so one log answers "who did what and
-- when". `partner` names the partner nation an entry concerns (the partnership of a programme
-- record, the nation of an account) so a partner administrator's audit view and, later, the live
-- stream can select by it without opening the JSON.
ALTER TABLE change_log ADD COLUMN partner text;
CREATE INDEX change_log_by_actor ON change_log (actor, seq);
CREATE INDEX change_log_by_partner ON change_log (partner, entity, seq);
CREATE INDEX change_log_by_time ON change_log (at);

-- Sessions become tokens of two kinds: a browser sign-in, or a named API token a user creates for
-- a script or another system. Each has an id by which its owner lists and revokes it (null for
-- sessions made before this migration, which are then not listed).
ALTER TABLE sessions ADD COLUMN id uuid UNIQUE;
ALTER TABLE sessions ADD COLUMN kind text NOT NULL DEFAULT 'session' CHECK (kind IN ('session', 'api'));
