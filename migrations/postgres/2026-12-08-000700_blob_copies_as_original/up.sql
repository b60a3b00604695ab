-- A JPEG without metadata that fits a size is its own copy of that size: the original's
-- bytes are sent for it, and no second file is stored.
ALTER TABLE blobs ADD COLUMN medium_is_original BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE blobs ADD COLUMN thumb_is_original BOOLEAN NOT NULL DEFAULT FALSE;
