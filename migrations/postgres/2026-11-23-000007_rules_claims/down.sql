DROP TABLE claims;
DROP INDEX entries_rule;
ALTER TABLE entries DROP COLUMN origin;
ALTER TABLE entries DROP COLUMN rule_id;
DROP TABLE rules;
