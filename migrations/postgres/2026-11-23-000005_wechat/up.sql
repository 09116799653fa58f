-- A WeChat user (openid of our mini-program) bound to one member.
CREATE TABLE wechat_bindings (
    openid TEXT PRIMARY KEY,
    unionid TEXT,
    member_id BIGINT NOT NULL UNIQUE REFERENCES members(id),
    bound_at BIGINT NOT NULL
);

-- Short-lived tickets proving "this openid just signed in" until it is bound to a member.
CREATE TABLE wechat_tickets (
    ticket_hash TEXT PRIMARY KEY,
    openid TEXT NOT NULL,
    unionid TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
