ALTER TABLE disbursements DROP COLUMN due_on;
DROP TABLE case_numbers;
DROP TABLE case_number_blocks;
DROP TABLE case_number_series;
DROP TABLE campaigns;
DROP TABLE deadlines;
DROP TABLE field_work_progress;
DROP TABLE field_facts;
