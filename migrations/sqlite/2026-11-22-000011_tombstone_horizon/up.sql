-- Tombstones are removed after a stated horizon; the highest feed position removed is
-- kept so that a cursor from before it is told to reset instead of missing deletions.
ALTER TABLE sync_counter ADD COLUMN purged_through BIGINT NOT NULL DEFAULT 0;
