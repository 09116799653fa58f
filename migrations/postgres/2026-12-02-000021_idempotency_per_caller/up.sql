-- Idempotency keys belong to the caller who sent them (as at Stripe): a clerk who replays the
-- admin's key gets no replay of the admin's result. Keys from before have no known caller ('').
ALTER TABLE idempotency_keys ADD COLUMN caller TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (bank_id, caller, idem_key);
