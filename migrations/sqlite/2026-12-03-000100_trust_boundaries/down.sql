DROP INDEX case_numbers_record;
DROP TABLE sealed_fields;
DROP TABLE device_scope_seen;
DROP TABLE registration_referrals;
DROP INDEX users_name_key;
ALTER TABLE users DROP COLUMN username_key;
DROP TABLE access_grants;
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
