DROP INDEX rollup_sums_dropouts_parent;
DROP INDEX rollup_sums_dropouts_path;
