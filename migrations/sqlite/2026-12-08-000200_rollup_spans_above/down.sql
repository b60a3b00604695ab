ALTER TABLE rollup_progress DROP COLUMN restack_due;
ALTER TABLE rollup_spans DROP COLUMN above;
ALTER TABLE rollup_spans ADD COLUMN parent TEXT NOT NULL DEFAULT '/';
-- The parent is the path without its last segment ('/' above a root).
UPDATE rollup_spans SET parent = substr(path, 1, length(rtrim(rtrim(path, '/'), '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_')));
CREATE INDEX rollup_spans_parent ON rollup_spans (measure, parent, day, gap, path, n);
