-- Field work: synced records projected into typed columns (for rules and metrics), the
-- deadlines the rules derive from them, campaigns, and blocks of case numbers reserved by
-- devices. Keep column-for-column equal to the other backend's migration.

-- One row per synced field record, kept up to date by the projector from the change feed.
CREATE TABLE field_facts (
    entity       TEXT NOT NULL,
    id           TEXT NOT NULL,
    region_path  TEXT NOT NULL,
    reach_path   TEXT NOT NULL,
    -- The record it belongs to: a household, a case, a child, a pair, a plan, a photo's subject.
    subject_id   TEXT NOT NULL,
    -- The person who did it: the helper, the teacher, the author.
    actor_id     TEXT NOT NULL,
    -- When it happened, as the record says (never when it arrived).
    occurred_at  TIMESTAMP,
    -- When it ended (a case closed, a pair ended), as the record says.
    ended_at     TIMESTAMP,
    -- The entity's status or kind (review status, result, kind of session…).
    state        TEXT NOT NULL,
    deleted      BOOLEAN NOT NULL,
    PRIMARY KEY (entity, id)
);
CREATE INDEX field_facts_subject ON field_facts (entity, subject_id);
-- Metrics find the households visited in a period, and the photos waiting for review,
-- from these indexes alone, without reading the rows.
CREATE INDEX field_facts_time ON field_facts (entity, occurred_at, subject_id, deleted);
CREATE INDEX field_facts_rollup ON field_facts (entity, region_path, subject_id, occurred_at, deleted);
CREATE INDEX field_facts_state ON field_facts (entity, state, region_path, deleted);

-- How far the projector has read the change feed.
CREATE TABLE field_work_progress (
    id                INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    projected_through BIGINT NOT NULL,
    -- The last time every time-driven clock was derived again.
    refreshed_at      TIMESTAMP
);
INSERT INTO field_work_progress (id, projected_through, refreshed_at) VALUES (1, -1, NULL);

-- Every clock the rules set: an owner, a due time, and whether and when it was met.
CREATE TABLE deadlines (
    id                 TEXT PRIMARY KEY NOT NULL,
    -- Identity across re-derivations: the same records give the same key.
    key                TEXT NOT NULL UNIQUE,
    -- What derived it (e.g. dropout_case:<id>): deriving that again replaces its clocks.
    source             TEXT NOT NULL,
    kind               TEXT NOT NULL,
    subject_entity     TEXT NOT NULL,
    subject_id         TEXT NOT NULL,
    region_path        TEXT NOT NULL,
    -- A person, or NULL when the office of owner_region_path must act.
    owner_user_id      TEXT,
    owner_region_path  TEXT NOT NULL,
    starts_at          TIMESTAMP NOT NULL,
    due_at             TIMESTAMP NOT NULL,
    -- How the due time was counted (working_days:5, hours:24, end_of_period…).
    term               TEXT NOT NULL,
    met_at             TIMESTAMP,
    cancelled          BOOLEAN NOT NULL,
    -- JSON: what a person needs to read it.
    params             TEXT NOT NULL,
    version            BIGINT NOT NULL,
    -- Feed position of the latest change: owners' phones receive their deadlines.
    seq                BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX deadlines_source ON deadlines (source);
CREATE INDEX deadlines_owner ON deadlines (owner_user_id, due_at);
CREATE INDEX deadlines_office ON deadlines (owner_region_path);
CREATE INDEX deadlines_region ON deadlines (region_path, due_at, kind);
CREATE INDEX deadlines_due ON deadlines (kind, due_at);
CREATE INDEX deadlines_seq ON deadlines (seq);

CREATE TABLE campaigns (
    id              TEXT PRIMARY KEY NOT NULL,
    region_id       TEXT NOT NULL REFERENCES regions (id),
    region_path     TEXT NOT NULL,
    -- visit | dropout
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    starts_on       TEXT NOT NULL,
    term_starts_on  TEXT,
    -- JSON array: {kind, name, due_on, completed_at}.
    phases          TEXT NOT NULL,
    created_by      TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX campaigns_region ON campaigns (region_path);

-- The next serial of each series (county, year, kind of case).
CREATE TABLE case_number_series (
    county_code  TEXT NOT NULL,
    year         INTEGER NOT NULL,
    series       TEXT NOT NULL,
    next_serial  BIGINT NOT NULL,
    PRIMARY KEY (county_code, year, series)
);

-- Serials handed to one device to mint offline; blocks never overlap.
CREATE TABLE case_number_blocks (
    id            TEXT PRIMARY KEY NOT NULL,
    county_code   TEXT NOT NULL,
    year          INTEGER NOT NULL,
    series        TEXT NOT NULL,
    first_serial  BIGINT NOT NULL,
    last_serial   BIGINT NOT NULL,
    device_id     TEXT NOT NULL REFERENCES devices (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX case_number_blocks_device ON case_number_blocks (device_id);

-- Numbers in use: one record each.
CREATE TABLE case_numbers (
    case_no    TEXT PRIMARY KEY NOT NULL,
    entity     TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    block_id   TEXT NOT NULL REFERENCES case_number_blocks (id),
    created_at TIMESTAMP NOT NULL
);

-- Metrics count per region and period.
CREATE INDEX audit_log_entity_at ON audit_log (entity, at);
CREATE INDEX households_region ON households (region_id, status);

-- The last day a payment for its period is on time (R-SUP-1: timeliness of disbursement),
-- and whether it was made by then (end of that day, China time).
ALTER TABLE disbursements ADD COLUMN due_on TEXT;
ALTER TABLE disbursements ADD COLUMN on_time BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE disbursements SET due_on = CASE
    WHEN length(period) = 4 THEN period || '-12-31'
    WHEN period LIKE '%-S1' THEN substr(period, 1, 4) || '-06-30'
    WHEN period LIKE '%-S2' THEN substr(period, 1, 4) || '-12-31'
    ELSE date(period || '-01', '+1 month', '-1 day')
END;
UPDATE disbursements SET on_time = (created_at <= due_on || ' 15:59:59.999999');
CREATE INDEX disbursements_region ON disbursements (region_path, created_at, on_time, amount_fen);
