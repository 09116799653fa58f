-- Volunteer activities (志愿活动), sign-ups, attendance from QR scans, refused scans and appeals.
CREATE TABLE activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    rule_id BIGINT REFERENCES rules(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    address TEXT NOT NULL,
    -- Microdegrees (exact integers); a geofence needs all three.
    latitude_e6 BIGINT,
    longitude_e6 BIGINT,
    radius_m BIGINT,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    signup_opens_at BIGINT,
    signup_closes_at BIGINT,
    capacity BIGINT,
    signup_required BOOLEAN NOT NULL DEFAULT 0,
    award_mode TEXT NOT NULL CHECK (award_mode IN ('fixed', 'per_hour')),
    -- Fixed points for attending, or points per credited hour (minor units).
    points BIGINT NOT NULL,
    hours_unit_minutes BIGINT NOT NULL,
    hours_rounding TEXT NOT NULL CHECK (hours_rounding IN ('down', 'nearest', 'up')),
    max_hours BIGINT NOT NULL,
    min_presence_percent BIGINT NOT NULL,
    missing_checkout TEXT NOT NULL CHECK (missing_checkout IN ('no_hours', 'until_end')),
    grace_minutes BIGINT NOT NULL,
    qr_step_seconds BIGINT NOT NULL,
    -- Raising it voids every printed poster of the activity.
    poster_version BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'cancelled', 'settled')),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    settled_at BIGINT,
    CHECK (ends_at > starts_at)
);
CREATE INDEX activities_bank ON activities (bank_id, starts_at);
CREATE INDEX activities_status ON activities (status, ends_at);

CREATE TABLE signups (
    activity_id BIGINT NOT NULL REFERENCES activities(id),
    member_id BIGINT NOT NULL REFERENCES members(id),
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    -- Set when staff signed the member up: "by X on behalf of Y".
    proxied_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (activity_id, member_id)
);

-- One row per member and activity: a check-in happens once, a check-out once.
CREATE TABLE attendances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    activity_id BIGINT NOT NULL REFERENCES activities(id),
    member_id BIGINT NOT NULL REFERENCES members(id),
    checkin_at BIGINT NOT NULL,
    checkin_method TEXT NOT NULL,
    checkout_at BIGINT,
    checkout_method TEXT,
    recorded_by TEXT NOT NULL,
    corrected_by TEXT,
    correction_reason TEXT,
    settled_at BIGINT,
    settled_entry_id BIGINT REFERENCES entries(id),
    points BIGINT,
    hours BIGINT,
    -- Settled without a check-out: visible so that it can be corrected.
    checkout_missing BOOLEAN NOT NULL DEFAULT 0,
    UNIQUE (activity_id, member_id)
);
CREATE INDEX attendances_unsettled ON attendances (activity_id, id) WHERE settled_at IS NULL;

-- Every refused scan: a fraud signal for the organiser and the basis of an appeal.
CREATE TABLE refused_scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id BIGINT REFERENCES banks(id),
    activity_id BIGINT REFERENCES activities(id),
    member_id BIGINT NOT NULL REFERENCES members(id),
    purpose TEXT,
    token TEXT NOT NULL,
    reason TEXT NOT NULL,
    latitude_e6 BIGINT,
    longitude_e6 BIGINT,
    created_at BIGINT NOT NULL,
    appeal_status TEXT CHECK (appeal_status IN ('pending', 'approved', 'rejected')),
    appeal_reason TEXT,
    appealed_at BIGINT,
    decided_by TEXT,
    decided_at BIGINT,
    decision_note TEXT
);
CREATE INDEX refused_scans_activity ON refused_scans (activity_id, id);
CREATE INDEX refused_scans_member ON refused_scans (member_id, id);
