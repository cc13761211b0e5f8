-- A page of a partnership's activities is read from one index alone, without a table row per
-- activity.
--
-- Why: every commit empties each reading connection's page cache, so under a stream of writes every
-- list walks its pages cold, and a walk that visited the table row of each activity it considered
-- (for the version the server's kept views are checked against, and for the filters) read 50–300
-- table pages through `pread` for a page of 50 at scale M (see BENCHMARKS.md, "A fifth machine").
-- The partnership index now carries what a list selects and filters on, so the walk stays in its
-- leaves (an update pays for one more index page: `version` is in it).
--
-- SQLite will not read a query from an index alone when the query names a generated column (any
-- such column counts as using every column), so the list order is no longer the stored, generated
-- `sort_key`: the indexes are on the expression it was, and the queries name that expression
-- (`activities::sort_key!`).
DROP INDEX activities_by_partnership;
DROP INDEX activities_by_sort_key;
DROP INDEX activities_by_status;
ALTER TABLE activities DROP COLUMN sort_key;

CREATE INDEX activities_by_sort_key ON activities ((coalesce(starts_on, '0000-00-00') || '|' || id));
CREATE INDEX activities_by_status ON activities (status, (coalesce(starts_on, '0000-00-00') || '|' || id));
CREATE INDEX activities_by_partnership ON activities (
    partnership, (coalesce(starts_on, '0000-00-00') || '|' || id),
    status, kind, starts_on, ends_on, marking, version, id
);
