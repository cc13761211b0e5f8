-- The audit trail filtered by kind of record alone (every activity change, every webhook change),
-- newest first: a walk backwards along this index, however many entries of other kinds the log holds
-- and however many of this kind. `change_log_by_entity` (entity, entity_id, seq) serves a record's
-- own entries, but read for a kind alone it returns the kind's entries in record order, and the audit
-- page sorted all of them first (484 ms for activities at scale M). Its new leaf entries go at the
-- end of each kind's range, so a write adds a page it mostly shares with the writes around it.
CREATE INDEX change_log_by_entity_kind ON change_log (entity, seq);
