-- Applicants' sign-ins (from WeChat) and their rotating refresh tokens, as staff sessions
-- have: a refresh token works once; a used one presented again revokes its session.
-- Keep this file column-for-column equal to the other backend's.
CREATE TABLE applicant_sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    applicant_id TEXT NOT NULL REFERENCES applicants (id),
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP,
    revoked_why  TEXT
);
CREATE INDEX applicant_sessions_applicant ON applicant_sessions (applicant_id);

CREATE TABLE applicant_refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    session_id  TEXT NOT NULL REFERENCES applicant_sessions (id),
    issued_at   TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX applicant_refresh_tokens_session ON applicant_refresh_tokens (session_id);
