-- What the server knows of each syncing device, and the mutations it refused, kept for a
-- supervisor to settle. Keep column-for-column equal to the other backend's migration.

CREATE TABLE sync_device_status (
    device_id         TEXT PRIMARY KEY NOT NULL REFERENCES devices (id),
    user_id           TEXT NOT NULL REFERENCES users (id),
    -- The user's region when the device last synced: supervisors above it see the device.
    region_path       TEXT NOT NULL,
    protocol_version  INTEGER NOT NULL,
    app_version       TEXT,
    last_push_at      TIMESTAMP,
    last_pull_at      TIMESTAMP,
    -- Changes waiting in the device's outbox, as it last reported them.
    pending_reported  BIGINT,
    pushed_total      BIGINT NOT NULL,
    rejected_total    BIGINT NOT NULL
);
CREATE INDEX sync_device_status_region ON sync_device_status (region_path);

-- Every refused mutation, with what was sent and why it was refused.
CREATE TABLE sync_quarantine (
    device_id    TEXT NOT NULL,
    mutation_id  TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    entity       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    region_path  TEXT NOT NULL,
    -- JSON: the mutation as sent, and the problem answered.
    payload      TEXT NOT NULL,
    problem      TEXT NOT NULL,
    -- open | settled
    state        TEXT NOT NULL,
    note         TEXT,
    settled_by   TEXT,
    settled_at   TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, mutation_id)
);
CREATE INDEX sync_quarantine_region ON sync_quarantine (region_path);
CREATE INDEX sync_quarantine_state ON sync_quarantine (state);
