-- Housekeeping finds the tombstones past the horizon among the deleted records only: few,
-- where the records are millions.
CREATE INDEX sync_records_tombstones ON sync_records (updated_at) WHERE deleted;
