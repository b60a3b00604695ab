-- Ledgers read the records that name a chunk of others: the retrieval attempts of a page of
-- dropout cases, the photos of a page of teaching sessions. The expressions must stay
-- exactly those of `ledgers::lookup::Link`, or the planner does not use them. (Not partial
-- indexes as on PostgreSQL: without ANALYZE statistics SQLite prefers the (entity,
-- created_by) index to a partial one; two equal columns win on any statistics.)
CREATE INDEX sync_records_attempt_case ON sync_records (entity, json_extract(data, '$.case_id'));
CREATE INDEX sync_records_photo_subject ON sync_records (entity, json_extract(data, '$.subject_id'));
