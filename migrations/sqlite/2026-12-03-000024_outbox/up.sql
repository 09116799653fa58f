-- The transactional outbox: a message is written in the same transaction as the change that
-- causes it, and a background sender delivers it after the commit. Claimed with a lease, so a
-- sender that dies mid-send leaves the message to be claimed again once the lease runs out.
CREATE TABLE outbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'wechat')),
    -- Which message (order_ready, monthly_statement …): templates and preferences go by it.
    kind TEXT NOT NULL,
    -- An email address, or a member's WeChat openid.
    recipient TEXT NOT NULL,
    -- The cause, once: the same cause queued twice (a retried request, a re-run job) is one message.
    dedup_key TEXT NOT NULL UNIQUE,
    -- Stable across attempts, so a resend after a crash between delivery and the mark is recognisable.
    message_id TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    leased_by TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_messages_due ON outbox_messages (status, next_attempt_at);
