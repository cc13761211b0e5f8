-- Opt-in daily e-mail digests of a user's notifications.
CREATE TABLE digest_subscriptions (
    user_id      uuid PRIMARY KEY REFERENCES users (id),
    email        text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_sent_at timestamptz
);
