DROP TABLE sync_reach_changes;
DROP TABLE sync_scope_history;
