-- Registration's "same name at the same address" lookup finds the households at the new
-- one's address in its village by this index, not by reading the whole village. The
-- expression is `households::duplicates::lookups::ADDRESS_KEY_SQL`, spaces removed
-- (ASCII, ideographic U+3000, no-break U+00A0), and must stay identical to it.
CREATE INDEX households_address_key ON households
    (region_id, (replace(replace(replace(address, ' ', ''), '　', ''), ' ', '')));
