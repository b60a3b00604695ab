-- Delta sync: records captured on devices, the change feed, the mutations already
-- answered, and conflicts kept for a person to settle. Keep column-for-column equal to the
-- other backend's migration.

-- Every change to synced data takes its feed position from this one row, inside the
-- writing transaction: writers hold it until they commit, so positions become visible in
-- order and a pull cursor never passes a change that commits later.
CREATE TABLE sync_counter (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  BIGINT NOT NULL
);
INSERT INTO sync_counter (id, seq) VALUES (1, 0);

-- Regions travel to devices as reference data.
ALTER TABLE regions ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX regions_seq ON regions (seq);

CREATE TABLE sync_records (
    entity       TEXT NOT NULL,
    id           TEXT NOT NULL,
    region_id    TEXT NOT NULL REFERENCES regions (id),
    region_path  TEXT NOT NULL,
    -- JSON object: the record's fields.
    data         TEXT NOT NULL,
    -- JSON object: field -> {"v": version that changed it, "hlc": hybrid-clock time}.
    stamps       TEXT NOT NULL,
    version      BIGINT NOT NULL,
    deleted      BOOLEAN NOT NULL,
    -- Feed position of the latest change.
    seq          BIGINT NOT NULL,
    created_by   TEXT,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (entity, id)
);
CREATE UNIQUE INDEX sync_records_seq ON sync_records (seq);
CREATE INDEX sync_records_region ON sync_records (region_path text_pattern_ops);

-- Every mutation answered, per device: a repeat gets the same answer.
CREATE TABLE sync_mutations (
    device_id     TEXT NOT NULL,
    mutation_id   TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    entity        TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        TEXT NOT NULL,
    -- JSON: the answer sent.
    result        TEXT NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, mutation_id)
);

CREATE TABLE sync_conflicts (
    id              TEXT PRIMARY KEY NOT NULL,
    entity          TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    -- Empty for a whole-record conflict (an edit against a delete).
    field           TEXT NOT NULL,
    region_path     TEXT NOT NULL,
    -- JSON values: the one kept in the record, and the one that lost.
    kept            TEXT NOT NULL,
    lost            TEXT NOT NULL,
    kept_hlc        TEXT,
    lost_hlc        TEXT NOT NULL,
    lost_device_id  TEXT,
    lost_user_id    TEXT,
    mutation_id     TEXT,
    state           TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    -- JSON: how it was settled.
    resolution      TEXT,
    resolved_by     TEXT,
    resolved_at     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX sync_conflicts_record ON sync_conflicts (entity, record_id);
CREATE INDEX sync_conflicts_region ON sync_conflicts (region_path text_pattern_ops, state);
