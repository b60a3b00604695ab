ALTER TABLE case_files DROP COLUMN reopened_on;
ALTER TABLE case_files DROP COLUMN exited_on;
ALTER TABLE case_files DROP COLUMN exit_notice_ends_on;
DROP TABLE income_records;
