-- Mini-program sessions: rotating refresh tokens of members (one family per WeChat sign-in;
-- reuse of a spent token revokes the family), so the mini-program need not call wx.login again
-- every time its access token expires.
CREATE TABLE member_refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id BIGINT NOT NULL REFERENCES members(id),
    -- bound_at of the WeChat binding the session was opened under: undoing it ends the session.
    binding BIGINT NOT NULL,
    family TEXT NOT NULL,
    -- SHA-256 of the token: the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX member_refresh_tokens_family ON member_refresh_tokens (family);
CREATE INDEX member_refresh_tokens_member ON member_refresh_tokens (member_id);
