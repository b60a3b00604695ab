-- Exit and return (R-FILE-6): monthly income records and the exit process on case files.
-- Keep column-for-column equal to the other backend's migration.

CREATE TABLE income_records (
    file_id         TEXT NOT NULL REFERENCES case_files (id),
    -- YYYY-MM
    month           TEXT NOT NULL,
    per_capita_fen  BIGINT NOT NULL CHECK (per_capita_fen >= 0),
    recorded_by     TEXT,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (file_id, month)
);

ALTER TABLE case_files ADD COLUMN exit_notice_ends_on TEXT;
ALTER TABLE case_files ADD COLUMN exited_on TEXT;
ALTER TABLE case_files ADD COLUMN reopened_on TEXT;
