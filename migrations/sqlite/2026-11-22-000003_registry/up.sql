-- The household registry (一户一档) and who is assigned to help each household. Keep
-- column-for-column equal to the other backend's migration.

CREATE TABLE households (
    id           TEXT PRIMARY KEY NOT NULL,
    region_id    TEXT NOT NULL REFERENCES regions (id),
    -- The village's path followed by the household's id: a helper assigned to the
    -- household gets this path in their scope, and sees its records and nothing else.
    path         TEXT NOT NULL UNIQUE,
    address      TEXT NOT NULL,
    phone        TEXT,
    -- active | exited
    status       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    version      BIGINT NOT NULL,
    -- Feed position of the latest change: households travel to devices as reference data.
    seq          BIGINT NOT NULL
);
CREATE INDEX households_path ON households (path);
CREATE INDEX households_seq ON households (seq);

CREATE TABLE household_members (
    id            TEXT PRIMARY KEY NOT NULL,
    household_id  TEXT NOT NULL REFERENCES households (id),
    name          TEXT NOT NULL,
    -- head | spouse | child | parent | grandchild | grandparent | sibling | other
    relation      TEXT NOT NULL,
    -- Keyed hash of the resident ID number: exact lookup without storing it readable.
    -- Unique: one person lives in one household of the registry.
    id_hash       TEXT NOT NULL UNIQUE,
    -- The ID number sealed with the server's data key (XChaCha20-Poly1305).
    id_sealed     TEXT NOT NULL,
    id_masked     TEXT NOT NULL,
    birth_date    TEXT NOT NULL,
    gender        TEXT NOT NULL,
    phone         TEXT,
    position      INTEGER NOT NULL
);
CREATE INDEX household_members_household ON household_members (household_id);
CREATE INDEX household_members_name ON household_members (name, birth_date);

-- Income items and rigid expenses (R-FILE-3), whole fen per year.
CREATE TABLE household_items (
    id            TEXT PRIMARY KEY NOT NULL,
    household_id  TEXT NOT NULL REFERENCES households (id),
    -- income | expense
    kind          TEXT NOT NULL,
    category      TEXT NOT NULL,
    amount_fen    BIGINT NOT NULL CHECK (amount_fen >= 0),
    year          INTEGER NOT NULL,
    note          TEXT
);
CREATE INDEX household_items_household ON household_items (household_id);

-- 帮扶责任人: the helpers assigned to a household (R-VISIT-1).
CREATE TABLE household_helpers (
    household_id  TEXT NOT NULL REFERENCES households (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    assigned_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (household_id, user_id)
);
CREATE INDEX household_helpers_user ON household_helpers (user_id);

-- Synced records can be reached through what they belong to besides their region: a
-- household (for its assigned helpers) or a school (for its teachers).
ALTER TABLE sync_records ADD COLUMN reach_path TEXT NOT NULL DEFAULT '';
CREATE INDEX sync_records_reach ON sync_records (reach_path);
