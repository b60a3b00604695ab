DROP TABLE sync_quarantine;
DROP TABLE sync_device_status;
