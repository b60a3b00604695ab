-- Ledgers read the records that name a chunk of others: the retrieval attempts of a page of
-- dropout cases, the photos of a page of teaching sessions. Partial indexes, so other
-- entities' writes pay nothing; the expressions and conditions must stay exactly those of
-- `ledgers::lookup::Link`, or the planner does not use them.
CREATE INDEX sync_records_attempt_case ON sync_records ((data::json ->> 'case_id'))
    WHERE entity = 'retrieval_attempt';
CREATE INDEX sync_records_photo_subject ON sync_records ((data::json ->> 'subject_id'))
    WHERE entity = 'photo';
