-- The chunks an unfinished upload has received, each kept in the blob store under a name
-- of its own (so every instance can read them); a chunk is recorded in the same
-- transaction that moves the upload's offset past it.
CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    object TEXT NOT NULL,
    PRIMARY KEY (upload_id, start_at)
);
