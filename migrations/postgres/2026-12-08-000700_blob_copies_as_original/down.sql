ALTER TABLE blobs DROP COLUMN thumb_is_original;
ALTER TABLE blobs DROP COLUMN medium_is_original;
