DROP TABLE upload_parts;
