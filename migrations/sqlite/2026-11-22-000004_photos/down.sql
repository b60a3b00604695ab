DROP TABLE uploads;
DROP TABLE blob_holders;
DROP TABLE blobs;
