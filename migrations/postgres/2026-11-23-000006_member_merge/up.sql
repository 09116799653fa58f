-- A member record found to be a duplicate is merged into the surviving one; it stays readable.
ALTER TABLE members ADD COLUMN merged_into BIGINT REFERENCES members(id);
