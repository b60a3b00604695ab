-- Evidence integrity and photo review. Keep column-for-column equal to the other
-- backend's migration.

-- Where a household lives (WGS 84), to check that photos of it were taken there.
ALTER TABLE households ADD COLUMN lat DOUBLE PRECISION;
ALTER TABLE households ADD COLUMN lng DOUBLE PRECISION;

-- Perceptual hash (dHash, 64 bits as a signed integer) of a decodable photo, made when the
-- blob is decoded: near-identical pictures have hashes a few bits apart.
ALTER TABLE blobs ADD COLUMN dhash BIGINT;

-- The dHash cut into bands: two hashes within the reuse threshold agree exactly on at least
-- one band (pigeonhole), so similar pictures are found by indexed equality, not a scan.
CREATE TABLE blob_hash_bands (
    band    INTEGER NOT NULL,
    value   INTEGER NOT NULL,
    sha256  TEXT NOT NULL REFERENCES blobs (sha256),
    PRIMARY KEY (band, value, sha256)
);

-- One row per live photo record, written with the record: what the app captured (time,
-- place and its accuracy, device; apart from the file's EXIF), what it proves, its review,
-- and the integrity flags found for it. Indexed, so no query reads photo records' JSON.
CREATE TABLE photo_evidence (
    id              TEXT PRIMARY KEY NOT NULL,
    sha256          TEXT NOT NULL,
    region_id       TEXT NOT NULL,
    region_path     TEXT NOT NULL,
    reach_path      TEXT NOT NULL,
    created_by      TEXT,
    subject_entity  TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    -- The household the photo concerns: its own field, or the household of its visit.
    household_id    TEXT,
    taken_at        TIMESTAMP,
    lat             DOUBLE PRECISION,
    lng             DOUBLE PRECISION,
    accuracy_m      DOUBLE PRECISION,
    capture_device  TEXT,
    -- pending | approved | rejected
    review_status   TEXT NOT NULL,
    review_reason   TEXT,
    reviewed_by     TEXT,
    reviewed_at     TIMESTAMP,
    -- JSON array of flags ({"code": …, …}); flag_count > 0 when any.
    flags           TEXT NOT NULL,
    flag_count      INTEGER NOT NULL,
    -- false until the flags have been worked out (rows filled in by this migration).
    checked         BOOLEAN NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX photo_evidence_sha256 ON photo_evidence (sha256);
CREATE INDEX photo_evidence_household ON photo_evidence (household_id);
CREATE INDEX photo_evidence_subject ON photo_evidence (subject_id);
CREATE INDEX photo_evidence_author ON photo_evidence (created_by);
CREATE INDEX photo_evidence_queue ON photo_evidence (review_status, region_path text_pattern_ops);
CREATE INDEX photo_evidence_unchecked ON photo_evidence (checked) WHERE NOT checked;

-- Photo records made before this migration: enough to serve them at once; the rest is
-- worked out from the records by the housekeeping.
INSERT INTO photo_evidence (id, sha256, region_id, region_path, reach_path, created_by,
    subject_entity, subject_id, review_status, flags, flag_count, checked, created_at, updated_at)
SELECT id, lower(coalesce(data::json ->> 'sha256', '')), region_id, region_path,
    reach_path, created_by, coalesce(data::json ->> 'subject_entity', ''),
    coalesce(data::json ->> 'subject_id', ''),
    coalesce(data::json ->> 'review_status', 'pending'), '[]', 0, FALSE, created_at, updated_at
FROM sync_records WHERE entity = 'photo' AND NOT deleted;
