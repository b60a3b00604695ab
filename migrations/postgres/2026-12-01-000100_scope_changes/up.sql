-- Scope changes in sync. Keep column-for-column equal to the other backend's migration.

-- The parts of their scope users held and lost: an assignment to a household that ended,
-- a region they moved away from. A device's edits made while the scope was still held
-- (hybrid-clock time in [started_at, ended_at)) are accepted after the loss.
CREATE TABLE sync_scope_history (
    user_id     TEXT NOT NULL REFERENCES users (id),
    -- The household's or region's path.
    path        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('region', 'household')),
    started_at  TIMESTAMP NOT NULL,
    ended_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, path, started_at)
);

-- What devices must add or drop beyond the ordinary feed, each at its own feed position:
-- with a user: that user's scope changed, and the row became visible to them (arrived) or
-- is no longer (dropped); without: a record moved away from region_path / reach_path, and
-- devices whose scope held that place and does not reach the record now drop it.
CREATE TABLE sync_reach_changes (
    seq          BIGINT PRIMARY KEY NOT NULL,
    user_id      TEXT,
    entity       TEXT NOT NULL,
    id           TEXT NOT NULL,
    arrived      BOOLEAN NOT NULL,
    region_path  TEXT NOT NULL,
    reach_path   TEXT NOT NULL,
    at           TIMESTAMP NOT NULL
);
