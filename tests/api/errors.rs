//! Every failure is an RFC 9457 problem with a stable code, and changes nothing.

use pointsbank::auth::jwt::TokenKeys;
use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(authentication_failures_are_problems, |backend| async move {
    let app = spawn_app(backend).await;
    let anonymous = read(
        app.client
            .get(app.url("/api/v1/banks"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    anonymous.problem(401, "unauthorized");
    assert_eq!(anonymous.headers["www-authenticate"], "Bearer");

    let forged = read(
        app.client
            .get(app.url("/api/v1/banks"))
            .bearer_auth("abc.def.ghi")
            .send()
            .await
            .unwrap(),
    )
    .await;
    forged.problem(401, "unauthorized");

    let other_secret = TokenKeys::new(
        b"some-other-secret-some-other-secret",
        "pointsbank",
        "pointsbank-api",
        900,
    );
    let now = chrono::Utc::now().timestamp();
    let token = other_secret
        .issue("staff:1".into(), "staff", vec![], now)
        .unwrap();
    let wrong_key = read(
        app.client
            .get(app.url("/api/v1/banks"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong_key.problem(401, "unauthorized");

    // A member token is genuine but is not a staff token.
    let ours = TokenKeys::new(
        b"test-secret-test-secret-test-secret!",
        "pointsbank",
        "pointsbank-api",
        900,
    );
    let member = ours
        .issue("member:5".into(), "member", vec![], now)
        .unwrap();
    let as_member = read(
        app.client
            .get(app.url("/api/v1/banks"))
            .bearer_auth(member)
            .send()
            .await
            .unwrap(),
    )
    .await;
    as_member.problem(403, "forbidden");

    let wrong_password = read(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"phone": ADMIN_PHONE, "password": "not-the-password"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong_password.problem(401, "invalid_credentials");
    let unknown_phone = read(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"phone": "13100000000", "password": "whatever-password"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    unknown_phone.problem(401, "invalid_credentials");
});

on_both_backends!(
    malformed_requests_name_the_field_at_fault,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "黄敏").await;
        let path = format!("/api/v1/banks/{}/entries", village.bank);
        let entry = |amount: serde_json::Value| {
            json!({"kind": "award", "memo": "m", "postings": [
                {"account_id": village.issuance, "amount": "-1"}, {"account_id": wallet, "amount": amount}
            ]})
        };

        let too_precise = app.post(&path, entry(json!("1.001"))).await;
        assert_eq!(
            too_precise.problem(422, "validation_failed")["field"],
            "postings[1].amount"
        );
        let float = app.post(&path, entry(json!(1.5))).await;
        assert_eq!(
            float.problem(422, "validation_failed")["field"],
            "postings[1].amount"
        );
        let huge = app.post(&path, entry(json!("1000000000000"))).await;
        assert_eq!(
            huge.problem(422, "validation_failed")["field"],
            "postings[1].amount"
        );
        let zero = app.post(&path, entry(json!("0.00"))).await;
        assert_eq!(
            zero.problem(422, "validation_failed")["field"],
            "postings[1].amount"
        );
        let junk = app.post(&path, entry(json!("12abc"))).await;
        assert_eq!(
            junk.problem(422, "validation_failed")["field"],
            "postings[1].amount"
        );

        let unknown_field = app
            .post(
                &path,
                json!({"kind": "award", "memo": "m", "postings": [], "colour": "red"}),
            )
            .await;
        unknown_field.problem(422, "validation_failed");
        let missing_memo = app
            .post(
                &path,
                json!({"kind": "award", "memo": "  ", "postings": []}),
            )
            .await;
        assert_eq!(
            missing_memo.problem(422, "validation_failed")["field"],
            "memo"
        );
        let bad_kind = app
            .post(
                &path,
                json!({"kind": "redeem", "memo": "m", "postings": []}),
            )
            .await;
        assert_eq!(bad_kind.problem(422, "validation_failed")["field"], "kind");
        let unbalanced = app
        .post(&path, json!({"kind": "award", "memo": "m", "postings": [
            {"account_id": village.issuance, "amount": "-1"}, {"account_id": wallet, "amount": "2"}
        ]}))
        .await;
        unbalanced.problem(422, "entry_unbalanced");
        let one_line = app.post(&path, json!({"kind": "adjust", "memo": "m", "postings": [{"account_id": wallet, "amount": "2"}]})).await;
        one_line.problem(422, "invalid_entry");
        let foreign_account = app
        .post(&path, json!({"kind": "award", "memo": "m", "postings": [
            {"account_id": village.issuance, "amount": "-1"}, {"account_id": 999999, "amount": "1"}
        ]}))
        .await;
        assert_eq!(
            foreign_account.problem(422, "validation_failed")["field"],
            "postings[1].account_id"
        );

        let not_json = read(
            app.client
                .post(app.url(&path))
                .bearer_auth(&app.token)
                .header("content-type", "application/json")
                .body("{\"kind\":")
                .send()
                .await
                .unwrap(),
        )
        .await;
        not_json.problem(400, "malformed_request");
        let wrong_type = read(
            app.client
                .post(app.url(&path))
                .bearer_auth(&app.token)
                .body("kind=award")
                .send()
                .await
                .unwrap(),
        )
        .await;
        wrong_type.problem(400, "malformed_request");
        let oversized = "x".repeat(300 * 1024);
        let too_large = app
            .post(
                &path,
                json!({"kind": "award", "memo": oversized, "postings": []}),
            )
            .await;
        too_large.problem(413, "payload_too_large");

        app.get("/api/v1/banks/not-a-number")
            .await
            .problem(422, "validation_failed");
        app.get(&format!(
            "/api/v1/banks/{}/accounts?limit=1000",
            village.bank
        ))
        .await
        .problem(422, "validation_failed");
        app.get(&format!(
            "/api/v1/banks/{}/accounts/{wallet}/statement?from=yesterday",
            village.bank
        ))
        .await
        .problem(422, "validation_failed");
        app.get(&format!(
            "/api/v1/banks/{}/accounts/{wallet}/statement?cursor=zzz",
            village.bank
        ))
        .await
        .problem(422, "validation_failed");

        // Nothing of the above reached the book.
        assert_eq!(app.balance(&village, wallet).await, "0.00");
    }
);

on_both_backends!(
    missing_things_are_not_found_and_duplicates_conflict,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let other = app.village().await;
        let wallet = app.wallet(&village, "周杰").await;
        app.get("/api/v1/banks/424242")
            .await
            .problem(404, "not_found");
        app.get(&format!("/api/v1/banks/{}/entries/424242", village.bank))
            .await
            .problem(404, "not_found");
        // An account of one bank cannot be read through another bank's path.
        app.get(&format!("/api/v1/banks/{}/accounts/{wallet}", other.bank))
            .await
            .problem(404, "not_found");
        app.get("/api/v1/no-such-route")
            .await
            .problem(404, "not_found");
        app.post("/api/v1/banks", json!({"org_id": 424242, "name": "x"}))
            .await
            .problem(404, "not_found");
        let code = uuid::Uuid::new_v4().to_string();
        app.post("/api/v1/orgs", json!({"code": code, "name": "a"}))
            .await
            .ok(201);
        app.post("/api/v1/orgs", json!({"code": code, "name": "b"}))
            .await
            .problem(409, "already_exists");
    }
);

on_both_backends!(every_response_carries_a_request_id, |backend| async move {
    let app = spawn_app(backend).await;
    let fine = read(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert!(fine.headers.contains_key("x-request-id"));
    let chosen = read(
        app.client
            .get(app.url("/api/v1/banks/1"))
            .header("x-request-id", "trace-123")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(chosen.headers["x-request-id"], "trace-123");
    assert_eq!(
        chosen.problem(401, "unauthorized")["request_id"],
        "trace-123"
    );
    let ready = read(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(ready.ok(200)["status"], "ready");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains("pb_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"),
        "{metrics}"
    );
});

on_both_backends!(
    a_wallet_cannot_grow_past_the_largest_balance,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "冯刚").await;
        // 100 awards of the largest single amount reach the wallet ceiling of 10^13 points.
        for _ in 0..100 {
            app.award(&village, wallet, "100000000000").await.ok(201);
        }
        let over = app.award(&village, wallet, "0.01").await;
        assert_eq!(over.problem(422, "validation_failed")["field"], "postings");
        assert_eq!(app.balance(&village, wallet).await, "10000000000000.00");
    }
);

on_both_backends!(
    amounts_cards_pickup_codes_and_cursors_are_accepted_only_as_the_contract_spells_them,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "黄敏").await;
        let path = format!("/api/v1/banks/{}/entries", village.bank);
        for spelling in [" 1", "1 ", "\t1", "\n2", "0001", "1.", ".5", "+1", "1e0"] {
            let reply = app
                .post(
                    &path,
                    json!({"kind": "award", "memo": "m", "postings": [
                        {"account_id": village.issuance, "amount": "-1"},
                        {"account_id": wallet, "amount": spelling}
                    ]}),
                )
                .await;
            assert_eq!(
                reply.problem(422, "validation_failed")["field"],
                "postings[1].amount",
                "{spelling:?}"
            );
        }
        // Nothing was written by any of them.
        assert_eq!(app.balance(&village, wallet).await, "0.00");

        let member = app.member(&village, "周芳").await;
        let grouped = format!(
            "{} {} {} {}",
            &member.card_number[..4],
            &member.card_number[4..8],
            &member.card_number[8..12],
            &member.card_number[12..]
        );
        let lookup = |card: String| app.post("/api/v1/members/lookup", json!({"card": card}));
        assert_eq!(lookup(grouped.clone()).await.ok(200)["id"], member.id);
        for near_miss in [
            format!(" {grouped}"),
            format!("{grouped}\n"),
            format!("0{}", member.card_number),
        ] {
            lookup(near_miss).await.problem(422, "card_invalid");
        }

        app.get("/api/v1/members?cursor=5").await.ok(200);
        for bad in ["05", "%2B5", "%205", "5%20", "-5", "0"] {
            let reply = app.get(&format!("/api/v1/members?cursor={bad}")).await;
            assert_eq!(
                reply.problem(422, "validation_failed")["field"],
                "cursor",
                "{bad:?}"
            );
        }
    }
);

on_both_backends!(
    a_wrong_method_is_405_with_allow_and_the_bearer_scheme_is_case_insensitive,
    |backend| async move {
        let app = spawn_app(backend).await;
        for (method, path, allow) in [
            ("TRACE", "/api/v1/banks", "GET, POST"),
            ("DELETE", "/api/v1/banks", "GET, POST"),
            ("GET", "/api/v1/auth/login", "POST"),
            ("PUT", "/api/v1/banks/1/entries", "POST"),
        ] {
            let reply = app.send_as(&app.token, method, path, None).await;
            reply.problem(405, "method_not_allowed");
            assert_eq!(reply.headers["allow"], allow, "{method} {path}");
        }
        app.get("/api/v1/no-such-thing")
            .await
            .problem(404, "not_found");

        for scheme in ["bearer", "BEARER", "Bearer"] {
            let reply = read(
                app.client
                    .get(app.url("/api/v1/banks"))
                    .header("Authorization", format!("{scheme} {}", app.token))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            reply.ok(200);
        }
        let reply = read(
            app.client
                .get(app.url("/api/v1/banks"))
                .header("Authorization", format!("Basic {}", app.token))
                .send()
                .await
                .unwrap(),
        )
        .await;
        reply.problem(401, "unauthorized");
    }
);

/// Sends raw bytes on a fresh connection and returns the answer's head and its JSON body.
async fn raw_exchange(app: &TestApp, request: Vec<u8>) -> (String, serde_json::Value) {
    use std::io::{Read, Write};
    let address = app.base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        // The server may answer (and close) before it has read everything we send.
        let _ = stream.write_all(&request);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).to_string();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        (
            head.to_ascii_lowercase(),
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    })
    .await
    .unwrap()
}

on_both_backends!(
    answers_the_http_layer_gives_itself_are_problems_too,
    |backend| async move {
        let app = spawn_app(backend).await;
        let many_headers: Vec<u8> = [
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec(),
            (0..120)
                .flat_map(|i| format!("X-H{i}: v\r\n").into_bytes())
                .collect(),
            b"\r\n".to_vec(),
        ]
        .concat();
        let unfinished = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
        let garbage = b"GARBAGE\x01 / HTTP/1.1\r\n\r\n".to_vec();
        for (request, status, code) in [
            (many_headers, "431", "request_header_fields_too_large"),
            (unfinished, "408", "request_timeout"),
            (garbage, "400", "malformed_request"),
        ] {
            let (head, body) = raw_exchange(&app, request).await;
            assert!(head.starts_with(&format!("http/1.1 {status} ")), "{head}");
            assert!(
                head.contains("content-type: application/problem+json"),
                "{head}"
            );
            assert_eq!(body["code"], code, "{head}");
            assert_eq!(body["status"].to_string(), status);
            assert_eq!(body["type"], format!("urn:pointsbank:problem:{code}"));
        }
        // Ordinary answers pass through the connection untouched.
        app.get("/api/v1/banks").await.ok(200);
    }
);
