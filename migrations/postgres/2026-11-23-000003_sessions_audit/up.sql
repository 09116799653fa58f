-- Rotating refresh tokens: one family per sign-in; reuse of a spent token revokes the family.
CREATE TABLE refresh_tokens (
    id BIGSERIAL PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    family TEXT NOT NULL,
    -- SHA-256 of the token: the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_staff ON refresh_tokens (staff_id);

-- Failed sign-ins, per phone and per client address, for rate limiting across instances.
CREATE TABLE login_failures (
    id BIGSERIAL PRIMARY KEY,
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (subject, at);

-- Append-only record of every staff action that changes data.
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    -- The unit the target belongs to, for scoped queries.
    org_path TEXT NOT NULL,
    client_ip TEXT,
    request_id TEXT,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_path ON audit_log (org_path, id);
