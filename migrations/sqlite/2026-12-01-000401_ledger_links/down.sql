DROP INDEX sync_records_photo_subject;
DROP INDEX sync_records_attempt_case;
