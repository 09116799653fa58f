ALTER TABLE members DROP COLUMN merged_into;
