DROP TABLE photo_evidence;
DROP TABLE blob_hash_bands;
ALTER TABLE blobs DROP COLUMN dhash;
ALTER TABLE households DROP COLUMN lng;
ALTER TABLE households DROP COLUMN lat;
