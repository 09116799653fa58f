-- Points rules (积分细则): what an award is for, how much it may be, and who must approve it.
CREATE TABLE rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('volunteer_service', 'public_welfare', 'village_rules', 'good_deeds', 'deduction', 'other')),
    -- Points in minor units; negative for deductions. min <= default <= max, all of one sign.
    default_points BIGINT NOT NULL,
    min_points BIGINT NOT NULL,
    max_points BIGINT NOT NULL,
    needs_second_approver BOOLEAN NOT NULL DEFAULT 0,
    -- Most points one member may receive under this rule per calendar day/month/year (absolute values).
    cap_per_day BIGINT,
    cap_per_month BIGINT,
    cap_per_year BIGINT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (bank_id, code)
);

-- Every award says under which rule and how it came about; both are part of the sealed entry.
ALTER TABLE entries ADD COLUMN rule_id BIGINT REFERENCES rules(id);
ALTER TABLE entries ADD COLUMN origin TEXT;
CREATE INDEX entries_rule ON entries (rule_id, created_at) WHERE rule_id IS NOT NULL;

-- Requests for points that wait for a person's approval: members' claims (申报), back-filled
-- records (补录) and awards under rules that need a second approver.
CREATE TABLE claims (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    member_id BIGINT NOT NULL REFERENCES members(id),
    rule_id BIGINT NOT NULL REFERENCES rules(id),
    origin TEXT NOT NULL CHECK (origin IN ('claim', 'backfill', 'staff_award')),
    points BIGINT NOT NULL,
    description TEXT NOT NULL,
    -- JSON array of evidence links.
    evidence TEXT NOT NULL DEFAULT '[]',
    submitted_by TEXT NOT NULL,
    -- Set when a grid worker submitted for a member without a phone: "by X on behalf of Y".
    on_behalf_of BIGINT REFERENCES members(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by TEXT,
    decided_at BIGINT,
    decision_note TEXT,
    entry_id BIGINT REFERENCES entries(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX claims_bank_status ON claims (bank_id, status, id);
CREATE INDEX claims_member ON claims (member_id, id);
