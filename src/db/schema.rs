//! Table definitions shared by both backends (kept by hand: `diesel print-schema` differs per backend).

diesel::table! {
    orgs (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        created_at -> BigInt,
        kind -> Text,
        parent_id -> Nullable<BigInt>,
        path -> Text,
    }
}

diesel::table! {
    role_grants (id) {
        id -> BigInt,
        staff_id -> BigInt,
        role -> Text,
        org_id -> Nullable<BigInt>,
        granted_by -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    staff (id) {
        id -> BigInt,
        phone -> Text,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    banks (id) {
        id -> BigInt,
        org_id -> BigInt,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        bank_id -> BigInt,
        asset -> Text,
        kind -> Text,
        name -> Text,
        owner_ref -> Nullable<Text>,
        balance -> BigInt,
        held -> BigInt,
        created_at -> BigInt,
        member_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    entries (id) {
        id -> BigInt,
        bank_id -> BigInt,
        kind -> Text,
        memo -> Text,
        reference -> Nullable<Text>,
        actor -> Text,
        reverses_entry_id -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    postings (id) {
        id -> BigInt,
        bank_id -> BigInt,
        entry_id -> BigInt,
        account_id -> BigInt,
        asset -> Text,
        amount -> BigInt,
        balance_after -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    holds (id) {
        id -> BigInt,
        bank_id -> BigInt,
        account_id -> BigInt,
        asset -> Text,
        amount -> BigInt,
        status -> Text,
        memo -> Text,
        reference -> Nullable<Text>,
        actor -> Text,
        expires_at -> BigInt,
        created_at -> BigInt,
        resolved_at -> Nullable<BigInt>,
        capture_entry_id -> Nullable<BigInt>,
        captured_amount -> Nullable<BigInt>,
    }
}

diesel::table! {
    idempotency_keys (bank_id, idem_key) {
        bank_id -> BigInt,
        idem_key -> Text,
        request_hash -> Text,
        response_body -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    seals (bank_id, seq) {
        bank_id -> BigInt,
        seq -> BigInt,
        prev_hash -> Text,
        hash -> Text,
        entry_count -> BigInt,
        sealed_at -> BigInt,
    }
}

diesel::table! {
    entry_seals (entry_id) {
        entry_id -> BigInt,
        bank_id -> BigInt,
        seal_seq -> Nullable<BigInt>,
        entry_hash -> Nullable<Text>,
    }
}

diesel::joinable!(banks -> orgs (org_id));
diesel::joinable!(role_grants -> orgs (org_id));
diesel::joinable!(role_grants -> staff (staff_id));
diesel::joinable!(accounts -> banks (bank_id));
diesel::joinable!(postings -> entries (entry_id));
diesel::joinable!(holds -> accounts (account_id));
diesel::joinable!(entry_seals -> entries (entry_id));
diesel::joinable!(refresh_tokens -> staff (staff_id));

diesel::allow_tables_to_appear_in_same_query!(
    orgs,
    role_grants,
    staff,
    banks,
    accounts,
    entries,
    postings,
    holds,
    idempotency_keys,
    seals,
    entry_seals,
    refresh_tokens,
    login_failures,
    audit_log,
    members,
    wechat_bindings,
    wechat_tickets,
    member_refresh_tokens,
);

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        staff_id -> BigInt,
        family -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        subject -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        target -> Text,
        org_path -> Text,
        client_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
    }
}

diesel::table! {
    members (id) {
        id -> BigInt,
        org_id -> BigInt,
        name -> Text,
        phone -> Nullable<Text>,
        id_card -> Nullable<Text>,
        household -> Nullable<Text>,
        tags -> Text,
        status -> Text,
        allow_proxy -> Bool,
        card_version -> BigInt,
        created_at -> BigInt,
        merged_into -> Nullable<BigInt>,
    }
}

diesel::joinable!(members -> orgs (org_id));

diesel::table! {
    wechat_bindings (openid) {
        openid -> Text,
        unionid -> Nullable<Text>,
        member_id -> BigInt,
        bound_at -> BigInt,
    }
}

diesel::table! {
    wechat_tickets (ticket_hash) {
        ticket_hash -> Text,
        openid -> Text,
        unionid -> Nullable<Text>,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    member_refresh_tokens (id) {
        id -> BigInt,
        member_id -> BigInt,
        binding -> BigInt,
        family -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}
