-- Opt-in daily e-mail digests of a user's notifications.
CREATE TABLE digest_subscriptions (
    user_id      TEXT PRIMARY KEY REFERENCES users (id),
    email        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_sent_at TEXT
);
