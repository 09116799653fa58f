-- SQLite lets a primary key column hold NULL unless it is the rowid (INTEGER PRIMARY KEY) or says
-- NOT NULL; PostgreSQL and schema.rs never allow it. SQLite cannot alter a column: rebuild.
CREATE TABLE entry_seals_not_null (
    entry_id BIGINT NOT NULL PRIMARY KEY REFERENCES entries(id),
    bank_id BIGINT NOT NULL,
    seal_seq BIGINT,
    entry_hash TEXT
);
INSERT INTO entry_seals_not_null SELECT entry_id, bank_id, seal_seq, entry_hash FROM entry_seals;
DROP TABLE entry_seals;
ALTER TABLE entry_seals_not_null RENAME TO entry_seals;
CREATE INDEX entry_seals_unsealed ON entry_seals (bank_id, entry_id) WHERE seal_seq IS NULL;
CREATE INDEX entry_seals_by_seal ON entry_seals (bank_id, seal_seq, entry_id);

CREATE TABLE wechat_bindings_not_null (
    openid TEXT NOT NULL PRIMARY KEY,
    unionid TEXT,
    member_id BIGINT NOT NULL UNIQUE REFERENCES members(id),
    bound_at BIGINT NOT NULL
);
INSERT INTO wechat_bindings_not_null SELECT openid, unionid, member_id, bound_at FROM wechat_bindings;
DROP TABLE wechat_bindings;
ALTER TABLE wechat_bindings_not_null RENAME TO wechat_bindings;

CREATE TABLE wechat_tickets_not_null (
    ticket_hash TEXT NOT NULL PRIMARY KEY,
    openid TEXT NOT NULL,
    unionid TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
INSERT INTO wechat_tickets_not_null SELECT ticket_hash, openid, unionid, expires_at, used_at FROM wechat_tickets;
DROP TABLE wechat_tickets;
ALTER TABLE wechat_tickets_not_null RENAME TO wechat_tickets;
