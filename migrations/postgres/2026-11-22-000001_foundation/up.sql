-- Foundation: jurisdiction tree, staff, sessions, devices, break-the-glass grants,
-- idempotency records and the append-only audit log.
-- Timestamps are UTC. Ids are UUIDv7 strings. Keep this file column-for-column equal
-- to the other backend's migration (a test compares the two schemas).

CREATE TABLE regions (
    id          TEXT PRIMARY KEY NOT NULL,
    parent_id   TEXT REFERENCES regions (id),
    level       TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'township', 'village', 'school')),
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    -- '/<root id>/…/<own id>/': a subtree is every path with this prefix.
    path        TEXT NOT NULL UNIQUE,
    -- Local minimum living standard in fen per person per month; NULL inherits the parent's.
    dibao_fen   BIGINT CHECK (dibao_fen IS NULL OR dibao_fen > 0),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX regions_parent ON regions (parent_id);
CREATE INDEX regions_path_prefix ON regions (path text_pattern_ops);

CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('helper', 'village_secretary', 'township_officer', 'county_officer', 'auditor', 'admin')),
    region_id      TEXT NOT NULL REFERENCES regions (id),
    phone          TEXT,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    version        BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX users_region ON users (region_id);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    platform      TEXT NOT NULL,
    app_version   TEXT,
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP,
    revoked_at    TIMESTAMP
);
CREATE INDEX devices_user ON devices (user_id);

-- One login = one session; its refresh tokens rotate inside it.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    device_id   TEXT REFERENCES devices (id),
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    revoked_why TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    session_id  TEXT NOT NULL REFERENCES sessions (id),
    issued_at   TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Failed logins, shared by every server instance; subject is 'user:<name>' or 'addr:<ip>'.
CREATE TABLE login_failures (
    id       TEXT PRIMARY KEY NOT NULL,
    subject  TEXT NOT NULL,
    at       TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_subject_at ON login_failures (subject, at);

-- Temporary access outside one's own region ("break the glass").
CREATE TABLE access_grants (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    region_id   TEXT NOT NULL REFERENCES regions (id),
    reason      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
CREATE INDEX access_grants_user ON access_grants (user_id, expires_at);

-- The first answer to a create request, replayed for a repeat with the same key.
CREATE TABLE idempotency_keys (
    user_id       TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    response      TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY NOT NULL,
    at           TIMESTAMP NOT NULL,
    actor_id     TEXT,
    actor_role   TEXT,
    device_id    TEXT,
    request_id   TEXT,
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    -- Path of the region the record belongs to: audit reads are scoped like everything else.
    region_path  TEXT NOT NULL,
    -- JSON object: field -> {"before": …, "after": …}
    changes      TEXT NOT NULL,
    reason       TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_log_actor ON audit_log (actor_id);
CREATE INDEX audit_log_region ON audit_log (region_path text_pattern_ops);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
