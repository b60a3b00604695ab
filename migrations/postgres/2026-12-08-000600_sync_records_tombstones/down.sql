DROP INDEX sync_records_tombstones;
