DROP INDEX sync_records_reach;
ALTER TABLE sync_records DROP COLUMN reach_path;
DROP TABLE household_helpers;
DROP TABLE household_items;
DROP TABLE household_members;
DROP TABLE households;
