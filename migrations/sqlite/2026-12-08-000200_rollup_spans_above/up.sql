-- A region's distinct counts read one row per child and day. For a period starting on
-- day f, a subject-day counts when its gap exceeds day - f; `above` holds, on each row,
-- how many subject-days of its path and day have a gap at least the row's, so the first
-- row past day - f answers alone. Children are found in `regions`: the parent column and
-- its covering index, which made the read scan every gap of every day, go.
ALTER TABLE rollup_spans ADD COLUMN above BIGINT NOT NULL DEFAULT 0;
-- A rebuild counts without setting `above` page by page (the regions high up would have
-- nearly every day restacked by every page) and marks it due here; whoever counts next
-- sets it everywhere, so a rebuild cut short is still finished.
ALTER TABLE rollup_progress ADD COLUMN restack_due BOOLEAN NOT NULL DEFAULT FALSE;
DROP INDEX rollup_spans_parent;
ALTER TABLE rollup_spans DROP COLUMN parent;
-- Set on the spans already counted by the next count.
UPDATE rollup_progress SET restack_due = TRUE;
