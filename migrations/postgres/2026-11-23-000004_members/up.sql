-- Volunteers and residents. Phone and ID number are unique, so one person is one member.
CREATE TABLE members (
    id BIGSERIAL PRIMARY KEY,
    -- Home unit: a village or one of its grids/buildings.
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    phone TEXT UNIQUE,
    id_card TEXT UNIQUE,
    household TEXT,
    -- Comma-separated: 党员,学生,志愿者 …
    tags TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'left')),
    -- A grid worker may act on this member's behalf (no smartphone).
    allow_proxy BOOLEAN NOT NULL DEFAULT FALSE,
    -- The current issue of the member's card; older card QR tokens are refused.
    card_version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX members_org ON members (org_id, id);

-- Which wallet is whose: one per member, bank and asset.
ALTER TABLE accounts ADD COLUMN member_id BIGINT REFERENCES members(id);
CREATE UNIQUE INDEX accounts_member ON accounts (member_id, bank_id, asset) WHERE member_id IS NOT NULL;
