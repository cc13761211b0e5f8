-- A nation's nominations across all offerings (see the SQLite migration of the same number).
CREATE INDEX nominations_by_nation ON nominations (nation, status);
