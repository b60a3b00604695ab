-- Photo evidence and documents: verified file contents named by the SHA-256 of their bytes
-- (stored once, in the data folder or in object storage), resumable uploads, and who has
-- proved to hold which bytes. Keep column-for-column equal to the other backend's migration.

CREATE TABLE blobs (
    sha256        TEXT PRIMARY KEY NOT NULL,
    size          BIGINT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('photo', 'document')),
    -- Sniffed from the bytes: image/jpeg, image/png, image/webp, image/heic, application/pdf.
    media_type    TEXT NOT NULL,
    width         INTEGER,
    height        INTEGER,
    -- JSON: what the file's EXIF says (capture time, GPS, camera), or NULL if it has none.
    exif          TEXT,
    -- Resized copies: pending, ready, none (a format without them), failed.
    derivatives   TEXT NOT NULL CHECK (derivatives IN ('pending', 'ready', 'none', 'failed')),
    -- Whether a copy without EXIF location exists (for roles that may not see it).
    stripped      BOOLEAN NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

-- Users who sent the complete bytes of a blob (a photo record of theirs may show it).
CREATE TABLE blob_holders (
    sha256    TEXT NOT NULL REFERENCES blobs (sha256),
    -- A staff user id, or `applicant:<id>` for an applicant's materials.
    user_id   TEXT NOT NULL,
    first_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (sha256, user_id)
);

-- An upload in progress (or just finished): the bytes so far sit in a part file named by id.
CREATE TABLE uploads (
    id           TEXT PRIMARY KEY NOT NULL,
    -- A staff user id, or `applicant:<id>` for an applicant's materials.
    user_id      TEXT NOT NULL,
    device_id    TEXT,
    region_path  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('photo', 'document')),
    file_name    TEXT,
    received     BIGINT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('open', 'complete')),
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE INDEX uploads_owner ON uploads (user_id, state);
CREATE INDEX uploads_expiry ON uploads (expires_at);
