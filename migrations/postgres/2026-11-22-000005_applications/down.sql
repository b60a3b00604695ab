DROP TABLE calendar_years;
DROP TABLE case_file_members;
DROP TABLE case_files;
DROP TABLE applications;
DROP TABLE applicants;
DROP TABLE programs;
