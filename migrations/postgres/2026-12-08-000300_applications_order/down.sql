DROP INDEX applications_order;
