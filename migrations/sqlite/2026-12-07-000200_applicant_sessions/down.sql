DROP TABLE applicant_refresh_tokens;
DROP TABLE applicant_sessions;
