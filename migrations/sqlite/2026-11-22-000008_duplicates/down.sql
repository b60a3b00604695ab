DROP INDEX households_phone;
DROP INDEX household_members_phone;
DROP TABLE duplicate_candidates;
