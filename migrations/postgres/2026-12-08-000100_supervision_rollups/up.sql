-- Supervision rollups (R-SUP-1, R-SUP-3): the metrics' figures kept per region and day, so
-- that a city's answer reads a few thousand rows whatever the number of records.
--
-- Triggers on the counted tables note what a change touches (rollup_marks); the projector
-- (supervision::rollups) recounts each touched cell from the records and adds the
-- difference to every region above it. Triggers rather than calls in the use cases: no
-- writer (a use case, the projector, the demo, grow, a bulk load) can forget to mark.
-- Keep this file table-for-table equal to the other backend's; the triggers say the same
-- in each backend's own words.

-- What changed and is not yet counted. kind 'cell': key is the region path the record is
-- filed under and at the instant whose day it counts on (NULL: the figures of now);
-- 'visits' and 'adjustments': key is the household or case file whose days changed.
CREATE TABLE rollup_marks (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind  TEXT NOT NULL CHECK (kind IN ('cell', 'visits', 'adjustments')),
    key   TEXT NOT NULL,
    at    TIMESTAMP
);

-- One row: taken (updated) by whoever counts marks, so that one does at a time.
CREATE TABLE rollup_progress (
    id        INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    processed BIGINT NOT NULL
);
INSERT INTO rollup_progress (id, processed) VALUES (1, 0);

-- The figures of the records filed exactly at `path` on China day `day` (days from the
-- common era, as chrono's num_days_from_ce); day 0 holds the figures of now (households
-- active, photos waiting, cases open).
CREATE TABLE rollup_cells (
    path                     TEXT NOT NULL,
    day                      INTEGER NOT NULL,
    households_active        BIGINT NOT NULL,
    photos_pending           BIGINT NOT NULL,
    dropout_open             BIGINT NOT NULL,
    dropout_opened           BIGINT NOT NULL,
    dropout_closed           BIGINT NOT NULL,
    dropout_returned         BIGINT NOT NULL,
    -- Cases counted in a period's denominator from this day on, and no longer before it.
    dropout_started          BIGINT NOT NULL,
    dropout_left             BIGINT NOT NULL,
    deadlines_due            BIGINT NOT NULL,
    deadlines_met_on_time    BIGINT NOT NULL,
    deadlines_missed         BIGINT NOT NULL,
    home_teaching_months     BIGINT NOT NULL,
    home_teaching_compliant  BIGINT NOT NULL,
    disbursements            BIGINT NOT NULL,
    disbursements_on_time    BIGINT NOT NULL,
    disbursed_fen            BIGINT NOT NULL,
    files_created            BIGINT NOT NULL,
    files_exited             BIGINT NOT NULL,
    PRIMARY KEY (path, day)
);

-- The same figures summed over everything filed at or below `path` (a region, or a path
-- some record is filed under), with the path of the region above it.
CREATE TABLE rollup_sums (
    path                     TEXT NOT NULL,
    parent                   TEXT NOT NULL,
    day                      INTEGER NOT NULL,
    households_active        BIGINT NOT NULL,
    photos_pending           BIGINT NOT NULL,
    dropout_open             BIGINT NOT NULL,
    dropout_opened           BIGINT NOT NULL,
    dropout_closed           BIGINT NOT NULL,
    dropout_returned         BIGINT NOT NULL,
    dropout_started          BIGINT NOT NULL,
    dropout_left             BIGINT NOT NULL,
    deadlines_due            BIGINT NOT NULL,
    deadlines_met_on_time    BIGINT NOT NULL,
    deadlines_missed         BIGINT NOT NULL,
    home_teaching_months     BIGINT NOT NULL,
    home_teaching_compliant  BIGINT NOT NULL,
    disbursements            BIGINT NOT NULL,
    disbursements_on_time    BIGINT NOT NULL,
    disbursed_fen            BIGINT NOT NULL,
    files_created            BIGINT NOT NULL,
    files_exited             BIGINT NOT NULL,
    PRIMARY KEY (path, day)
);
CREATE INDEX rollup_sums_parent ON rollup_sums (parent, day);

-- Counting each household visited (or case file adjusted) once in any period: every day
-- a subject has one under `path` is kept with the days since its previous one there
-- (`gap`, at most 401: a period is at most 400 days). It counts in a period [f, t] on its
-- first day there, the day d in [f, t] with d - gap < f.
CREATE TABLE rollup_subject_days (
    measure     TEXT NOT NULL CHECK (measure IN ('visits', 'adjustments')),
    subject_id  TEXT NOT NULL,
    path        TEXT NOT NULL,
    day         INTEGER NOT NULL,
    gap         INTEGER NOT NULL,
    PRIMARY KEY (measure, subject_id, path, day)
);

-- Those days counted per path at or above where they lie, day and gap.
CREATE TABLE rollup_spans (
    measure  TEXT NOT NULL CHECK (measure IN ('visits', 'adjustments')),
    path     TEXT NOT NULL,
    parent   TEXT NOT NULL,
    day      INTEGER NOT NULL,
    gap      INTEGER NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (measure, path, day, gap)
);
-- Covering: a region's answer reads its children's spans from the index alone.
CREATE INDEX rollup_spans_parent ON rollup_spans (measure, parent, day, gap, path, n);

-- Cells are counted from the records filed at one path over a span of days, through the
-- indexes the counted tables already have (path first). Today's deadlines are read from
-- the records for every region at once: due time first.
CREATE INDEX deadlines_due_at ON deadlines (due_at, region_path);

-- Households: the region's figures of now.
CREATE FUNCTION rollup_mark_households() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', path, NULL FROM regions WHERE id = OLD.region_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', path, NULL FROM regions WHERE id = NEW.region_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rollup_households AFTER INSERT OR DELETE OR UPDATE OF region_id, status ON households
FOR EACH ROW EXECUTE FUNCTION rollup_mark_households();

-- Facts: dropout cases count on the days they opened and ended and now; photos now;
-- visits by household.
CREATE FUNCTION rollup_mark_fact(f field_facts) RETURNS void LANGUAGE sql AS $$
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', f.region_path, NULL::timestamp WHERE f.entity IN ('dropout_case', 'photo')
    UNION ALL SELECT 'cell', f.region_path, f.occurred_at
        WHERE f.entity = 'dropout_case' AND f.occurred_at IS NOT NULL
    UNION ALL SELECT 'cell', f.region_path, f.ended_at
        WHERE f.entity = 'dropout_case' AND f.ended_at IS NOT NULL
    UNION ALL SELECT 'visits', f.subject_id, NULL::timestamp WHERE f.entity = 'visit'
$$;
CREATE FUNCTION rollup_mark_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN PERFORM rollup_mark_fact(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN PERFORM rollup_mark_fact(NEW); END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rollup_facts AFTER INSERT OR UPDATE OR DELETE ON field_facts
FOR EACH ROW EXECUTE FUNCTION rollup_mark_facts();

-- Deadlines count on the day they fall due.
CREATE FUNCTION rollup_mark_deadlines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.region_path IS NOT DISTINCT FROM NEW.region_path
        AND OLD.due_at IS NOT DISTINCT FROM NEW.due_at AND OLD.met_at IS NOT DISTINCT FROM NEW.met_at
        AND OLD.cancelled IS NOT DISTINCT FROM NEW.cancelled AND OLD.kind IS NOT DISTINCT FROM NEW.kind THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO rollup_marks (kind, key, at) VALUES ('cell', OLD.region_path, OLD.due_at);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO rollup_marks (kind, key, at) VALUES ('cell', NEW.region_path, NEW.due_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rollup_deadlines AFTER INSERT OR UPDATE OR DELETE ON deadlines
FOR EACH ROW EXECUTE FUNCTION rollup_mark_deadlines();

-- Payments count on the day they were recorded.
CREATE FUNCTION rollup_mark_disbursements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO rollup_marks (kind, key, at) VALUES ('cell', OLD.region_path, OLD.created_at);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO rollup_marks (kind, key, at) VALUES ('cell', NEW.region_path, NEW.created_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rollup_disbursements AFTER INSERT OR UPDATE OR DELETE ON disbursements
FOR EACH ROW EXECUTE FUNCTION rollup_mark_disbursements();

-- Case files count on the day they were opened and the (China) day they exited; an exit
-- day is marked at that day's first instant (UTC+8 has no summer time).
CREATE FUNCTION rollup_mark_case_file(f case_files) RETURNS void LANGUAGE sql AS $$
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', f.region_path, f.created_at
    UNION ALL SELECT 'cell', f.region_path, f.exited_on::date - interval '8 hours' WHERE f.exited_on IS NOT NULL
$$;
CREATE FUNCTION rollup_mark_case_files() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.region_path IS NOT DISTINCT FROM NEW.region_path
        AND OLD.created_at IS NOT DISTINCT FROM NEW.created_at
        AND OLD.exited_on IS NOT DISTINCT FROM NEW.exited_on THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN PERFORM rollup_mark_case_file(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN PERFORM rollup_mark_case_file(NEW); END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rollup_case_files AFTER INSERT OR UPDATE OR DELETE ON case_files
FOR EACH ROW EXECUTE FUNCTION rollup_mark_case_files();

-- A case file's adjustments are its audited updates (the audit log is only ever added to).
CREATE FUNCTION rollup_mark_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_marks (kind, key, at) VALUES ('adjustments', NEW.entity_id, NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER rollup_audit AFTER INSERT ON audit_log
FOR EACH ROW WHEN (NEW.entity = 'case_file' AND NEW.action = 'update')
EXECUTE FUNCTION rollup_mark_audit();

-- What is already recorded is counted on the first catch-up.
INSERT INTO rollup_marks (kind, key, at)
SELECT DISTINCT 'cell', r.path, NULL::timestamp FROM households h JOIN regions r ON r.id = h.region_id;
INSERT INTO rollup_marks (kind, key, at)
SELECT DISTINCT 'cell', region_path, NULL::timestamp FROM field_facts WHERE entity IN ('dropout_case', 'photo');
INSERT INTO rollup_marks (kind, key, at)
SELECT 'cell', region_path, occurred_at FROM field_facts WHERE entity = 'dropout_case' AND occurred_at IS NOT NULL;
INSERT INTO rollup_marks (kind, key, at)
SELECT 'cell', region_path, ended_at FROM field_facts WHERE entity = 'dropout_case' AND ended_at IS NOT NULL;
INSERT INTO rollup_marks (kind, key, at)
SELECT DISTINCT 'visits', subject_id, NULL::timestamp FROM field_facts WHERE entity = 'visit';
INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', region_path, due_at FROM deadlines;
INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', region_path, created_at FROM disbursements;
INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', region_path, created_at FROM case_files;
INSERT INTO rollup_marks (kind, key, at)
SELECT 'cell', region_path, exited_on::date - interval '8 hours' FROM case_files WHERE exited_on IS NOT NULL;
INSERT INTO rollup_marks (kind, key, at)
SELECT DISTINCT 'adjustments', entity_id, NULL::timestamp FROM audit_log WHERE entity = 'case_file' AND action = 'update';
