CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    family TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_staff ON refresh_tokens (staff_id);
CREATE TABLE member_refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id BIGINT NOT NULL REFERENCES members(id),
    binding BIGINT NOT NULL,
    family TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX member_refresh_tokens_family ON member_refresh_tokens (family);
CREATE INDEX member_refresh_tokens_member ON member_refresh_tokens (member_id);
-- Console sessions have no place in the old tables: they end.
INSERT INTO refresh_tokens (staff_id, family, token_hash, created_at, expires_at, used_at, revoked_at)
SELECT staff_id, family, token_hash, created_at, expires_at, used_at, revoked_at
FROM refresh_sessions WHERE kind = 'staff' ORDER BY id;
INSERT INTO member_refresh_tokens (member_id, binding, family, token_hash, created_at, expires_at, used_at, revoked_at)
SELECT member_id, binding, family, token_hash, created_at, expires_at, used_at, revoked_at
FROM refresh_sessions WHERE kind = 'member' ORDER BY id;
DROP TABLE refresh_sessions;
