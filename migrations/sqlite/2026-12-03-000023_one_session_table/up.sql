-- One table of refresh sessions for every kind of holder, with one rotation and revocation
-- logic: staff signed in with a password, members signed in from the mini-program (under the
-- WeChat binding they signed in with: undoing it ends the session), and staff console sessions.
CREATE TABLE refresh_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('staff', 'member', 'console')),
    staff_id BIGINT REFERENCES staff(id),
    member_id BIGINT REFERENCES members(id),
    -- bound_at of the member's WeChat binding the session was opened under.
    binding BIGINT,
    family TEXT NOT NULL,
    -- SHA-256 of the token: the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT,
    CHECK (
        (kind IN ('staff', 'console') AND staff_id IS NOT NULL AND member_id IS NULL AND binding IS NULL)
        OR (kind = 'member' AND member_id IS NOT NULL AND binding IS NOT NULL AND staff_id IS NULL)
    )
);
CREATE INDEX refresh_sessions_family ON refresh_sessions (family);
CREATE INDEX refresh_sessions_staff ON refresh_sessions (staff_id);
CREATE INDEX refresh_sessions_member ON refresh_sessions (member_id);

INSERT INTO refresh_sessions
    (kind, staff_id, family, token_hash, created_at, expires_at, used_at, revoked_at)
SELECT 'staff', staff_id, family, token_hash, created_at, expires_at, used_at, revoked_at
FROM refresh_tokens ORDER BY id;
INSERT INTO refresh_sessions
    (kind, member_id, binding, family, token_hash, created_at, expires_at, used_at, revoked_at)
SELECT 'member', member_id, binding, family, token_hash, created_at, expires_at, used_at, revoked_at
FROM member_refresh_tokens ORDER BY id;

DROP TABLE refresh_tokens;
DROP TABLE member_refresh_tokens;
