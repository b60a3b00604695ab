DROP TABLE moved_subjects;
