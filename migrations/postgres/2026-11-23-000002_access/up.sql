-- The organisation tree and role grants scoped to subtrees.
ALTER TABLE orgs ADD COLUMN kind TEXT NOT NULL DEFAULT 'village'
    CHECK (kind IN ('county', 'township', 'village', 'grid', 'building'));
ALTER TABLE orgs ADD COLUMN parent_id BIGINT REFERENCES orgs(id);
-- Materialised path such as '/1/4/': a subtree is one indexed prefix query.
ALTER TABLE orgs ADD COLUMN path TEXT NOT NULL DEFAULT '';
UPDATE orgs SET path = '/' || id || '/';
CREATE INDEX orgs_path ON orgs (path);
CREATE INDEX orgs_parent ON orgs (parent_id);

CREATE TABLE role_grants (
    id BIGSERIAL PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    role TEXT NOT NULL CHECK (role IN ('platform_admin', 'org_admin', 'organiser', 'clerk', 'auditor')),
    -- NULL only for platform administrators: the whole tree.
    org_id BIGINT REFERENCES orgs(id),
    granted_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    CHECK ((role = 'platform_admin') = (org_id IS NULL))
);
CREATE INDEX role_grants_staff ON role_grants (staff_id);

-- Administrators created before grants existed become platform administrators.
INSERT INTO role_grants (staff_id, role, org_id, granted_by, created_at)
    SELECT id, 'platform_admin', NULL, 'migration', created_at FROM staff WHERE role = 'admin';
