-- Idempotency keys belong to the caller who sent them (as at Stripe): a clerk who replays the
-- admin's key gets no replay of the admin's result. Keys from before have no known caller ('').
-- SQLite cannot change a primary key in place: the table is rebuilt.
CREATE TABLE idempotency_keys_per_caller (
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    caller TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, caller, idem_key)
);
INSERT INTO idempotency_keys_per_caller
    SELECT bank_id, '', idem_key, request_hash, response_body, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_per_caller RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
