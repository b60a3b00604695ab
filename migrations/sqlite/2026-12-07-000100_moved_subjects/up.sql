-- Online changes the read model follows (an application decided, a campaign started or
-- moved): noted in the transaction that makes them, taken by the projector before the
-- next read of facts and deadlines. Keep this file column-for-column equal to the other
-- backend's.
CREATE TABLE moved_subjects (
    id          TEXT PRIMARY KEY NOT NULL,
    subject     TEXT NOT NULL CHECK (subject IN ('application', 'campaign')),
    subject_id  TEXT NOT NULL,
    moved_at    TIMESTAMP NOT NULL
);
