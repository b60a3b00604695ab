-- Photo records by their author: what a user's phone still has to upload is looked up on
-- every pull that reaches the end of the feed.
CREATE INDEX sync_records_author ON sync_records (entity, created_by);
