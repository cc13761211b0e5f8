-- A nation's nominations across all offerings (the home page's "nominations in progress" and
-- "feedback overdue" lists) read through this index instead of scanning every nomination.
CREATE INDEX nominations_by_nation ON nominations (nation, status);
