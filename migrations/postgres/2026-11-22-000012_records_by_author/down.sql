DROP INDEX sync_records_author;
