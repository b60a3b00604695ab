-- Programs with their materials checklists, applicants signed in from the mini-program or
-- the app, their applications, and the working-day calendar. Keep column-for-column equal
-- to the other backend's migration.

CREATE TABLE programs (
    id               TEXT PRIMARY KEY NOT NULL,
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    -- deep | relative | accidental | any: the difficulty the program serves.
    category         TEXT NOT NULL,
    -- JSON array of aid kinds: living, medical, education, housing, employment, temporary.
    aid_kinds        TEXT NOT NULL,
    -- JSON array of checklist items (code, name, required_when, optional, accepts).
    checklist        TEXT NOT NULL,
    -- Situations an applicant may state, each making some materials required.
    situations       TEXT NOT NULL,
    notice_workdays  INTEGER NOT NULL CHECK (notice_workdays >= 1),
    -- Accidental difficulty: grassroots pass puts it on notice at once (快速响应).
    fast_track       BOOLEAN NOT NULL,
    active           BOOLEAN NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    version          BIGINT NOT NULL
);

CREATE TABLE applicants (
    id              TEXT PRIMARY KEY NOT NULL,
    -- The mini-program user's openid, from the code exchange.
    wechat_openid   TEXT UNIQUE,
    display_name    TEXT,
    created_at      TIMESTAMP NOT NULL,
    last_login_at   TIMESTAMP NOT NULL
);

CREATE TABLE applications (
    id                 TEXT PRIMARY KEY NOT NULL,
    applicant_id       TEXT NOT NULL REFERENCES applicants (id),
    program_id         TEXT NOT NULL REFERENCES programs (id),
    region_id          TEXT NOT NULL REFERENCES regions (id),
    region_path        TEXT NOT NULL,
    status             TEXT NOT NULL,
    -- "<applicant>/<program>" while the application is open, NULL after: unique, so one
    -- applicant has at most one open application per program (R-APP-2), even under races.
    open_key           TEXT UNIQUE,
    -- 1 for the first filing; a corrected version links to the one it replaces.
    revision           INTEGER NOT NULL,
    previous_id        TEXT REFERENCES applications (id),
    -- JSON: address, phone, members (ID numbers sealed, hashed and masked), items, situations.
    form               TEXT NOT NULL,
    -- JSON array: {code, sha256, file_name}.
    materials          TEXT NOT NULL,
    -- JSON array of deficiencies of the last return for correction.
    deficiencies       TEXT NOT NULL,
    decision_reason    TEXT,
    -- The current hand-over's deadline, the notice's last day, the correction deadline.
    step_due_on        TEXT,
    notice_ends_on     TEXT,
    correction_due_on  TEXT,
    submitted_at       TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    version            BIGINT NOT NULL
);
CREATE INDEX applications_applicant ON applications (applicant_id);
CREATE INDEX applications_region ON applications (region_path);
CREATE INDEX applications_status ON applications (status);

-- Case files (建档立卡): opened when an application is approved, one per household and
-- program, against a household of the registry.
CREATE TABLE case_files (
    id              TEXT PRIMARY KEY NOT NULL,
    application_id  TEXT NOT NULL UNIQUE REFERENCES applications (id),
    program_id      TEXT NOT NULL REFERENCES programs (id),
    household_id    TEXT NOT NULL REFERENCES households (id),
    region_path     TEXT NOT NULL,
    -- deep | relative | accidental
    category        TEXT NOT NULL,
    -- active | exited
    status          TEXT NOT NULL,
    opened_on       TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX case_files_region ON case_files (region_path);

-- The people a file covers. "<program>/<id hash>" while the file is active, NULL after:
-- unique, so a person is in at most one active file per program (R-FILE-2), whoever
-- approves at the same moment.
CREATE TABLE case_file_members (
    file_id     TEXT NOT NULL REFERENCES case_files (id),
    id_hash     TEXT NOT NULL,
    active_key  TEXT UNIQUE,
    PRIMARY KEY (file_id, id_hash)
);

-- The State Council's holiday schedule, one published year per row (JSON).
CREATE TABLE calendar_years (
    year        INTEGER PRIMARY KEY NOT NULL,
    schedule    TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
