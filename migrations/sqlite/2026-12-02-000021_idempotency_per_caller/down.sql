CREATE TABLE idempotency_keys_shared (
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, idem_key)
);
INSERT OR IGNORE INTO idempotency_keys_shared
    SELECT bank_id, idem_key, request_hash, response_body, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_shared RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
