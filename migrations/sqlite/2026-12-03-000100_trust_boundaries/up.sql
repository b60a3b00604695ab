-- Trust boundaries. Keep this file column-for-column equal to the other backend's.

-- A break-the-glass grant names one record (a household, a child, a dropout case), never a
-- region; it is read-only and is reviewed afterwards by the grantee's supervisor. Grants
-- last three hours at most, so the region grants of before are dropped with their table
-- (each stays in the audit log).
DROP TABLE access_grants;
CREATE TABLE access_grants (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    subject         TEXT NOT NULL CHECK (subject IN ('household', 'child', 'dropout_case')),
    subject_id      TEXT NOT NULL,
    -- Where the record lies: for the reviewer, never shown to the grantee.
    region_path     TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    revoked_at      TIMESTAMP,
    reviewed_by     TEXT REFERENCES users (id),
    reviewed_at     TIMESTAMP,
    review_verdict  TEXT CHECK (review_verdict IN ('justified', 'unjustified')),
    review_note     TEXT
);
CREATE INDEX access_grants_user ON access_grants (user_id, expires_at);
CREATE INDEX access_grants_review ON access_grants (region_path, created_at);

-- One account per name whatever its case: usernames are compared by this key (NFKC,
-- lower case). Names that collide already keep working under the first account's key;
-- the later accounts get their id appended until an admin renames them.
ALTER TABLE users ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
UPDATE users SET username_key = lower(username);
UPDATE users SET username_key = username_key || '#' || id
    WHERE id NOT IN (SELECT min(id) FROM users GROUP BY lower(username));
CREATE UNIQUE INDEX users_name_key ON users (username_key);

-- A registration refused because the person is registered in a household outside the
-- registering office's jurisdiction: the match is put to the lowest office holding both.
CREATE TABLE registration_referrals (
    id                   TEXT PRIMARY KEY NOT NULL,
    member_id            TEXT NOT NULL,
    household_id         TEXT NOT NULL REFERENCES households (id),
    household_path       TEXT NOT NULL,
    attempted_region_id  TEXT NOT NULL REFERENCES regions (id),
    attempted_path       TEXT NOT NULL,
    -- The lowest region whose subtree holds both: its office (and those above) decide.
    office_path          TEXT NOT NULL,
    attempted_by         TEXT NOT NULL REFERENCES users (id),
    name                 TEXT NOT NULL,
    id_masked            TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('open', 'settled')),
    note                 TEXT,
    decided_by           TEXT REFERENCES users (id),
    decided_at           TIMESTAMP,
    created_at           TIMESTAMP NOT NULL
);
CREATE INDEX registration_referrals_office ON registration_referrals (office_path, status, id);

-- When a device of a user first pulled after a part of the user's scope ended: edits the
-- device captured there until then are still accepted (for a bounded time).
CREATE TABLE device_scope_seen (
    device_id  TEXT NOT NULL REFERENCES devices (id),
    ended_at   TIMESTAMP NOT NULL,
    seen_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, ended_at)
);

-- Text of synced records that held resident ID numbers: the record keeps them masked, the
-- original text is sealed here and opened only by an audited read.
CREATE TABLE sealed_fields (
    entity     TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    field      TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    PRIMARY KEY (entity, record_id, field)
);

-- A record holds at most one case number.
CREATE UNIQUE INDEX case_numbers_record ON case_numbers (entity, record_id);
