-- Indexes for the home page's work lists and the header's unread count (see the SQLite
-- migration of the same number).
CREATE INDEX nominations_by_nation ON nominations (nation, status);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;
