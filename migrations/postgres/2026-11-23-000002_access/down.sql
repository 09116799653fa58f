DROP TABLE role_grants;
DROP INDEX orgs_parent;
DROP INDEX orgs_path;
ALTER TABLE orgs DROP COLUMN path;
ALTER TABLE orgs DROP COLUMN parent_id;
ALTER TABLE orgs DROP COLUMN kind;
