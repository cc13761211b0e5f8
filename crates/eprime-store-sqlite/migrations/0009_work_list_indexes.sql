-- Indexes for the home page's work lists and the header's unread count, so each stays one
-- short index range however many years of data the database holds.

-- A nation's nominations across all offerings ("nominations in progress", "feedback overdue").
CREATE INDEX nominations_by_nation ON nominations (nation, status);

-- A user's unread notifications (counted on every page for the inbox link).
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;
