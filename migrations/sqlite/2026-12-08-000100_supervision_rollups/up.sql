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
    id    INTEGER PRIMARY KEY NOT NULL,
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
CREATE TRIGGER rollup_households_insert AFTER INSERT ON households BEGIN
    INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', path, NULL FROM regions WHERE id = NEW.region_id;
END;
CREATE TRIGGER rollup_households_update AFTER UPDATE OF region_id, status ON households BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', path, NULL FROM regions WHERE id IN (OLD.region_id, NEW.region_id);
END;
CREATE TRIGGER rollup_households_delete AFTER DELETE ON households BEGIN
    INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', path, NULL FROM regions WHERE id = OLD.region_id;
END;

-- Facts: dropout cases count on the days they opened and ended and now; photos now;
-- visits by household.
CREATE TRIGGER rollup_facts_insert AFTER INSERT ON field_facts
WHEN NEW.entity IN ('dropout_case', 'photo', 'visit') BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', NEW.region_path, NULL WHERE NEW.entity IN ('dropout_case', 'photo')
    UNION ALL SELECT 'cell', NEW.region_path, NEW.occurred_at
        WHERE NEW.entity = 'dropout_case' AND NEW.occurred_at IS NOT NULL
    UNION ALL SELECT 'cell', NEW.region_path, NEW.ended_at
        WHERE NEW.entity = 'dropout_case' AND NEW.ended_at IS NOT NULL
    UNION ALL SELECT 'visits', NEW.subject_id, NULL WHERE NEW.entity = 'visit';
END;
CREATE TRIGGER rollup_facts_update AFTER UPDATE ON field_facts
WHEN OLD.entity IN ('dropout_case', 'photo', 'visit') OR NEW.entity IN ('dropout_case', 'photo', 'visit') BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', OLD.region_path, NULL WHERE OLD.entity IN ('dropout_case', 'photo')
    UNION ALL SELECT 'cell', OLD.region_path, OLD.occurred_at
        WHERE OLD.entity = 'dropout_case' AND OLD.occurred_at IS NOT NULL
    UNION ALL SELECT 'cell', OLD.region_path, OLD.ended_at
        WHERE OLD.entity = 'dropout_case' AND OLD.ended_at IS NOT NULL
    UNION ALL SELECT 'visits', OLD.subject_id, NULL WHERE OLD.entity = 'visit'
    UNION ALL SELECT 'cell', NEW.region_path, NULL WHERE NEW.entity IN ('dropout_case', 'photo')
    UNION ALL SELECT 'cell', NEW.region_path, NEW.occurred_at
        WHERE NEW.entity = 'dropout_case' AND NEW.occurred_at IS NOT NULL
    UNION ALL SELECT 'cell', NEW.region_path, NEW.ended_at
        WHERE NEW.entity = 'dropout_case' AND NEW.ended_at IS NOT NULL
    UNION ALL SELECT 'visits', NEW.subject_id, NULL WHERE NEW.entity = 'visit';
END;
CREATE TRIGGER rollup_facts_delete AFTER DELETE ON field_facts
WHEN OLD.entity IN ('dropout_case', 'photo', 'visit') BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', OLD.region_path, NULL WHERE OLD.entity IN ('dropout_case', 'photo')
    UNION ALL SELECT 'cell', OLD.region_path, OLD.occurred_at
        WHERE OLD.entity = 'dropout_case' AND OLD.occurred_at IS NOT NULL
    UNION ALL SELECT 'cell', OLD.region_path, OLD.ended_at
        WHERE OLD.entity = 'dropout_case' AND OLD.ended_at IS NOT NULL
    UNION ALL SELECT 'visits', OLD.subject_id, NULL WHERE OLD.entity = 'visit';
END;

-- Deadlines count on the day they fall due.
CREATE TRIGGER rollup_deadlines_insert AFTER INSERT ON deadlines BEGIN
    INSERT INTO rollup_marks (kind, key, at) VALUES ('cell', NEW.region_path, NEW.due_at);
END;
CREATE TRIGGER rollup_deadlines_update AFTER UPDATE ON deadlines
WHEN OLD.region_path IS NOT NEW.region_path OR OLD.due_at IS NOT NEW.due_at
    OR OLD.met_at IS NOT NEW.met_at OR OLD.cancelled IS NOT NEW.cancelled OR OLD.kind IS NOT NEW.kind BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    VALUES ('cell', OLD.region_path, OLD.due_at), ('cell', NEW.region_path, NEW.due_at);
END;
CREATE TRIGGER rollup_deadlines_delete AFTER DELETE ON deadlines BEGIN
    INSERT INTO rollup_marks (kind, key, at) VALUES ('cell', OLD.region_path, OLD.due_at);
END;

-- Payments count on the day they were recorded.
CREATE TRIGGER rollup_disbursements_insert AFTER INSERT ON disbursements BEGIN
    INSERT INTO rollup_marks (kind, key, at) VALUES ('cell', NEW.region_path, NEW.created_at);
END;
CREATE TRIGGER rollup_disbursements_update AFTER UPDATE ON disbursements BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    VALUES ('cell', OLD.region_path, OLD.created_at), ('cell', NEW.region_path, NEW.created_at);
END;
CREATE TRIGGER rollup_disbursements_delete AFTER DELETE ON disbursements BEGIN
    INSERT INTO rollup_marks (kind, key, at) VALUES ('cell', OLD.region_path, OLD.created_at);
END;

-- Case files count on the day they were opened and the (China) day they exited; an exit
-- day is marked at that day's first instant (UTC+8 has no summer time).
CREATE TRIGGER rollup_case_files_insert AFTER INSERT ON case_files BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', NEW.region_path, NEW.created_at
    UNION ALL SELECT 'cell', NEW.region_path, datetime(NEW.exited_on, '-8 hours') WHERE NEW.exited_on IS NOT NULL;
END;
CREATE TRIGGER rollup_case_files_update AFTER UPDATE ON case_files
WHEN OLD.region_path IS NOT NEW.region_path OR OLD.created_at IS NOT NEW.created_at
    OR OLD.exited_on IS NOT NEW.exited_on BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', OLD.region_path, OLD.created_at
    UNION ALL SELECT 'cell', OLD.region_path, datetime(OLD.exited_on, '-8 hours') WHERE OLD.exited_on IS NOT NULL
    UNION ALL SELECT 'cell', NEW.region_path, NEW.created_at
    UNION ALL SELECT 'cell', NEW.region_path, datetime(NEW.exited_on, '-8 hours') WHERE NEW.exited_on IS NOT NULL;
END;
CREATE TRIGGER rollup_case_files_delete AFTER DELETE ON case_files BEGIN
    INSERT INTO rollup_marks (kind, key, at)
    SELECT 'cell', OLD.region_path, OLD.created_at
    UNION ALL SELECT 'cell', OLD.region_path, datetime(OLD.exited_on, '-8 hours') WHERE OLD.exited_on IS NOT NULL;
END;

-- A case file's adjustments are its audited updates (the audit log is only ever added to).
CREATE TRIGGER rollup_audit_insert AFTER INSERT ON audit_log
WHEN NEW.entity = 'case_file' AND NEW.action = 'update' BEGIN
    INSERT INTO rollup_marks (kind, key, at) VALUES ('adjustments', NEW.entity_id, NULL);
END;

-- What is already recorded is counted on the first catch-up.
INSERT INTO rollup_marks (kind, key, at)
SELECT DISTINCT 'cell', r.path, NULL FROM households h JOIN regions r ON r.id = h.region_id;
INSERT INTO rollup_marks (kind, key, at)
SELECT DISTINCT 'cell', region_path, NULL FROM field_facts WHERE entity IN ('dropout_case', 'photo');
INSERT INTO rollup_marks (kind, key, at)
SELECT 'cell', region_path, occurred_at FROM field_facts WHERE entity = 'dropout_case' AND occurred_at IS NOT NULL;
INSERT INTO rollup_marks (kind, key, at)
SELECT 'cell', region_path, ended_at FROM field_facts WHERE entity = 'dropout_case' AND ended_at IS NOT NULL;
INSERT INTO rollup_marks (kind, key, at)
SELECT DISTINCT 'visits', subject_id, NULL FROM field_facts WHERE entity = 'visit';
INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', region_path, due_at FROM deadlines;
INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', region_path, created_at FROM disbursements;
INSERT INTO rollup_marks (kind, key, at) SELECT 'cell', region_path, created_at FROM case_files;
INSERT INTO rollup_marks (kind, key, at)
SELECT 'cell', region_path, datetime(exited_on, '-8 hours') FROM case_files WHERE exited_on IS NOT NULL;
INSERT INTO rollup_marks (kind, key, at)
SELECT DISTINCT 'adjustments', entity_id, NULL FROM audit_log WHERE entity = 'case_file' AND action = 'update';
