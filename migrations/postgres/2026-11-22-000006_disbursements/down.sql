DROP TABLE aid_totals;
DROP TABLE disbursements;
