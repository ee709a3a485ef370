DROP TABLE audit_log;
DROP TABLE plans;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE units;
