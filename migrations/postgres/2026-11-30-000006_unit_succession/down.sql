DROP TABLE responsibility_transfers;
DROP TABLE unit_successions;
