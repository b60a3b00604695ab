-- Aid payments against case files (R-FILE-4), in whole fen. Keep column-for-column equal
-- to the other backend's migration.

CREATE TABLE disbursements (
    id           TEXT PRIMARY KEY NOT NULL,
    file_id      TEXT NOT NULL REFERENCES case_files (id),
    -- living | medical | education
    kind         TEXT NOT NULL,
    year         INTEGER NOT NULL,
    -- YYYY, YYYY-MM or YYYY-S1/S2: each period is paid once per kind (R-FILE-2).
    period       TEXT NOT NULL,
    amount_fen   BIGINT NOT NULL CHECK (amount_fen > 0),
    -- county | provincial | national: who had to approve it.
    approval     TEXT NOT NULL,
    note         TEXT,
    region_path  TEXT NOT NULL,
    created_by   TEXT,
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (file_id, kind, period)
);
CREATE INDEX disbursements_file ON disbursements (file_id, year);

-- A file's total per kind and year (kind 'all' for accidental aid, capped as a whole),
-- held below the cap the rules allowed when it was last paid.
CREATE TABLE aid_totals (
    file_id    TEXT NOT NULL REFERENCES case_files (id),
    kind       TEXT NOT NULL,
    year       INTEGER NOT NULL,
    total_fen  BIGINT NOT NULL,
    cap_fen    BIGINT NOT NULL,
    PRIMARY KEY (file_id, kind, year),
    CHECK (total_fen <= cap_fen)
);
