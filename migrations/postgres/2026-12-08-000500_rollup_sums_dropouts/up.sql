-- The retrieval rate's denominator counts dropout cases started and left since the
-- beginning: a region's answer reads only the days on which one did, through these, and
-- the period's own days through the key. The condition must stay word for word the one
-- `supervision::figures` reads with.
CREATE INDEX rollup_sums_dropouts_path ON rollup_sums (path, day)
    WHERE (dropout_started <> 0 OR dropout_left <> 0);
CREATE INDEX rollup_sums_dropouts_parent ON rollup_sums (parent, day)
    WHERE (dropout_started <> 0 OR dropout_left <> 0);
