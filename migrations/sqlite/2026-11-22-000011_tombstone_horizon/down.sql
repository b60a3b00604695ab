ALTER TABLE sync_counter DROP COLUMN purged_through;
