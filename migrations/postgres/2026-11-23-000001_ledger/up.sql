-- The ledger foundation. Times are microseconds since the Unix epoch (UTC); amounts are minor units.
CREATE TABLE orgs (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE staff (
    id BIGSERIAL PRIMARY KEY,
    phone TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE banks (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    asset TEXT NOT NULL CHECK (asset IN ('POINTS', 'HOURS')),
    kind TEXT NOT NULL CHECK (kind IN ('member', 'issuance', 'redemption', 'expiry', 'adjustment')),
    name TEXT NOT NULL,
    owner_ref TEXT,
    -- Cached for member wallets only; the bank's own accounts derive theirs from postings.
    balance BIGINT NOT NULL DEFAULT 0,
    held BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    -- The last line of defence: a wallet can never be below zero or hold more than it has.
    CHECK (kind <> 'member' OR (balance >= 0 AND held >= 0 AND held <= balance))
);
CREATE INDEX accounts_bank ON accounts (bank_id, id);
CREATE UNIQUE INDEX accounts_system ON accounts (bank_id, asset, kind) WHERE kind <> 'member';

CREATE TABLE entries (
    id BIGSERIAL PRIMARY KEY,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    kind TEXT NOT NULL,
    memo TEXT NOT NULL,
    reference TEXT,
    actor TEXT NOT NULL,
    -- UNIQUE: an entry is reversed at most once.
    reverses_entry_id BIGINT UNIQUE REFERENCES entries(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX entries_bank ON entries (bank_id, id);

CREATE TABLE postings (
    id BIGSERIAL PRIMARY KEY,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    entry_id BIGINT NOT NULL REFERENCES entries(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    asset TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX postings_account ON postings (account_id, id);
CREATE INDEX postings_entry ON postings (entry_id);

CREATE TABLE holds (
    id BIGSERIAL PRIMARY KEY,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    asset TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'captured', 'released', 'expired')),
    memo TEXT NOT NULL,
    reference TEXT,
    actor TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    capture_entry_id BIGINT REFERENCES entries(id),
    captured_amount BIGINT
);
CREATE INDEX holds_account_pending ON holds (account_id, expires_at) WHERE status = 'pending';
CREATE INDEX holds_pending_deadline ON holds (expires_at) WHERE status = 'pending';

CREATE TABLE idempotency_keys (
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, idem_key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

CREATE TABLE seals (
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    seq BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    entry_count BIGINT NOT NULL,
    sealed_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, seq)
);

-- Written with each entry (unsealed), filled in by the background sealer.
CREATE TABLE entry_seals (
    entry_id BIGINT PRIMARY KEY REFERENCES entries(id),
    bank_id BIGINT NOT NULL,
    seal_seq BIGINT,
    entry_hash TEXT
);
CREATE INDEX entry_seals_unsealed ON entry_seals (bank_id, entry_id) WHERE seal_seq IS NULL;
CREATE INDEX entry_seals_by_seal ON entry_seals (bank_id, seal_seq, entry_id);
