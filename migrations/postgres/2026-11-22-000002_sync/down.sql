DROP TABLE sync_conflicts;
DROP TABLE sync_mutations;
DROP TABLE sync_records;
DROP INDEX regions_seq;
ALTER TABLE regions DROP COLUMN seq;
DROP TABLE sync_counter;
