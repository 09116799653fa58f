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
        rule_id -> Nullable<BigInt>,
        origin -> Nullable<Text>,
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
    idempotency_keys (bank_id, caller, idem_key) {
        bank_id -> BigInt,
        caller -> Text,
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
    refresh_sessions,
    login_failures,
    audit_log,
    members,
    wechat_bindings,
    wechat_tickets,
    rules,
    claims,
    activities,
    signups,
    attendances,
    refused_scans,
    shops,
    goods,
    stock_movements,
    orders,
    order_lines,
    outbox_messages,
);

diesel::table! {
    refresh_sessions (id) {
        id -> BigInt,
        kind -> Text,
        staff_id -> Nullable<BigInt>,
        member_id -> Nullable<BigInt>,
        binding -> Nullable<BigInt>,
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
    rules (id) {
        id -> BigInt,
        bank_id -> BigInt,
        code -> Text,
        name -> Text,
        category -> Text,
        default_points -> BigInt,
        min_points -> BigInt,
        max_points -> BigInt,
        needs_second_approver -> Bool,
        cap_per_day -> Nullable<BigInt>,
        cap_per_month -> Nullable<BigInt>,
        cap_per_year -> Nullable<BigInt>,
        active -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    claims (id) {
        id -> BigInt,
        bank_id -> BigInt,
        member_id -> BigInt,
        rule_id -> BigInt,
        origin -> Text,
        points -> BigInt,
        description -> Text,
        evidence -> Text,
        submitted_by -> Text,
        on_behalf_of -> Nullable<BigInt>,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<BigInt>,
        decision_note -> Nullable<Text>,
        entry_id -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    activities (id) {
        id -> BigInt,
        bank_id -> BigInt,
        org_id -> BigInt,
        rule_id -> Nullable<BigInt>,
        title -> Text,
        description -> Text,
        category -> Text,
        address -> Text,
        latitude_e6 -> Nullable<BigInt>,
        longitude_e6 -> Nullable<BigInt>,
        radius_m -> Nullable<BigInt>,
        starts_at -> BigInt,
        ends_at -> BigInt,
        signup_opens_at -> Nullable<BigInt>,
        signup_closes_at -> Nullable<BigInt>,
        capacity -> Nullable<BigInt>,
        signup_required -> Bool,
        award_mode -> Text,
        points -> BigInt,
        hours_unit_minutes -> BigInt,
        hours_rounding -> Text,
        max_hours -> BigInt,
        min_presence_percent -> BigInt,
        missing_checkout -> Text,
        grace_minutes -> BigInt,
        qr_step_seconds -> BigInt,
        poster_version -> BigInt,
        status -> Text,
        created_by -> Text,
        created_at -> BigInt,
        settled_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    signups (activity_id, member_id) {
        activity_id -> BigInt,
        member_id -> BigInt,
        status -> Text,
        proxied_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    attendances (id) {
        id -> BigInt,
        bank_id -> BigInt,
        activity_id -> BigInt,
        member_id -> BigInt,
        checkin_at -> BigInt,
        checkin_method -> Text,
        checkout_at -> Nullable<BigInt>,
        checkout_method -> Nullable<Text>,
        recorded_by -> Text,
        corrected_by -> Nullable<Text>,
        correction_reason -> Nullable<Text>,
        settled_at -> Nullable<BigInt>,
        settled_entry_id -> Nullable<BigInt>,
        points -> Nullable<BigInt>,
        hours -> Nullable<BigInt>,
        checkout_missing -> Bool,
    }
}

diesel::table! {
    refused_scans (id) {
        id -> BigInt,
        bank_id -> Nullable<BigInt>,
        activity_id -> Nullable<BigInt>,
        member_id -> BigInt,
        purpose -> Nullable<Text>,
        token -> Text,
        reason -> Text,
        latitude_e6 -> Nullable<BigInt>,
        longitude_e6 -> Nullable<BigInt>,
        created_at -> BigInt,
        appeal_status -> Nullable<Text>,
        appeal_reason -> Nullable<Text>,
        appealed_at -> Nullable<BigInt>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<BigInt>,
        decision_note -> Nullable<Text>,
    }
}

diesel::joinable!(claims -> members (member_id));
diesel::joinable!(claims -> rules (rule_id));
diesel::joinable!(entries -> rules (rule_id));
diesel::joinable!(activities -> orgs (org_id));
diesel::joinable!(attendances -> members (member_id));
diesel::joinable!(attendances -> activities (activity_id));
diesel::joinable!(signups -> members (member_id));

diesel::table! {
    shops (id) {
        id -> BigInt,
        bank_id -> BigInt,
        org_id -> BigInt,
        name -> Text,
        address -> Text,
        redemption_days -> Nullable<Text>,
        allows_cash_topup -> Bool,
        pickup_hours -> BigInt,
        active -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    goods (id) {
        id -> BigInt,
        shop_id -> BigInt,
        bank_id -> BigInt,
        name -> Text,
        description -> Text,
        image_url -> Nullable<Text>,
        category -> Text,
        price -> BigInt,
        stock -> BigInt,
        reserved -> BigInt,
        monthly_limit -> Nullable<BigInt>,
        available_from -> Nullable<BigInt>,
        available_until -> Nullable<BigInt>,
        low_stock_threshold -> BigInt,
        active -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    stock_movements (id) {
        id -> BigInt,
        goods_id -> BigInt,
        shop_id -> BigInt,
        kind -> Text,
        quantity -> BigInt,
        donor_name -> Nullable<Text>,
        donor_value_fen -> Nullable<BigInt>,
        note -> Text,
        order_id -> Nullable<BigInt>,
        actor -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        bank_id -> BigInt,
        shop_id -> BigInt,
        member_id -> BigInt,
        status -> Text,
        total_points -> BigInt,
        cash_points -> BigInt,
        cash_fen -> BigInt,
        hold_id -> Nullable<BigInt>,
        entry_id -> Nullable<BigInt>,
        pickup_code -> Text,
        placed_by -> Text,
        on_behalf -> Bool,
        expires_at -> BigInt,
        closed_by -> Nullable<Text>,
        closed_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    order_lines (order_id, goods_id) {
        order_id -> BigInt,
        goods_id -> BigInt,
        quantity -> BigInt,
        unit_price -> BigInt,
        created_at -> BigInt,
        member_id -> BigInt,
    }
}

diesel::joinable!(goods -> shops (shop_id));
diesel::joinable!(stock_movements -> goods (goods_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(order_lines -> goods (goods_id));
diesel::joinable!(orders -> members (member_id));
diesel::joinable!(shops -> orgs (org_id));

diesel::table! {
    outbox_messages (id) {
        id -> BigInt,
        channel -> Text,
        kind -> Text,
        recipient -> Text,
        dedup_key -> Text,
        message_id -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Nullable<Text>,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        lease_until -> Nullable<BigInt>,
        leased_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}
