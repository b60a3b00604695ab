-- A page of applications in id order, for a region or a status, from this index alone:
-- walked in order, it stops after the page, where the region's index would make every
-- application of the region read and sorted.
CREATE INDEX applications_order ON applications (id) INCLUDE (region_path, status);
