DELETE FROM idempotency_keys a USING idempotency_keys b
    WHERE a.bank_id = b.bank_id AND a.idem_key = b.idem_key AND a.caller > b.caller;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys DROP COLUMN caller;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (bank_id, idem_key);
