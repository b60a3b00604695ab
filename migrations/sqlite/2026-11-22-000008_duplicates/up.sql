-- Likely duplicates in the registry: people who are probably the same although their ID
-- numbers differ (same name and birth date, same name and address, same phone). An
-- officer marks each pair distinct or merges it. Keep column-for-column equal to the other
-- backend's migration.

CREATE TABLE duplicate_candidates (
    id            TEXT PRIMARY KEY NOT NULL,
    -- The two members, the earlier registered first.
    member_a      TEXT NOT NULL,
    member_b      TEXT NOT NULL,
    household_a   TEXT NOT NULL REFERENCES households (id),
    household_b   TEXT NOT NULL REFERENCES households (id),
    path_a        TEXT NOT NULL,
    path_b        TEXT NOT NULL,
    -- JSON array: name_birth_date, name_address, phone
    reasons       TEXT NOT NULL,
    -- open | distinct | merged
    status        TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (member_a, member_b)
);
CREATE INDEX duplicate_candidates_status ON duplicate_candidates (status);
CREATE INDEX household_members_phone ON household_members (phone);
CREATE INDEX households_phone ON households (phone);
