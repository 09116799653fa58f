DROP INDEX accounts_member;
ALTER TABLE accounts DROP COLUMN member_id;
DROP TABLE members;
