DROP INDEX households_address_key;
