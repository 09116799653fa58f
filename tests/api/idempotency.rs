//! Retrying with an Idempotency-Key moves points once.

use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_retry_with_the_same_key_replays_the_original_entry,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "吴霞").await;
        let path = format!("/api/v1/banks/{}/entries", village.bank);
        let body = json!({"kind": "award", "memo": "清洁日", "postings": [
            {"account_id": village.issuance, "amount": "-8"}, {"account_id": wallet, "amount": "8"}
        ]});
        let first = app
            .post_with_key(&path, body.clone(), Some("award-1"))
            .await;
        let first = first.ok(201).clone();
        let again = app
            .post_with_key(&path, body.clone(), Some("award-1"))
            .await;
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.ok(201), &first);
        assert_eq!(app.balance(&village, wallet).await, "8.00");

        let mut changed = body.clone();
        changed["memo"] = json!("清洁日（改）");
        app.post_with_key(&path, changed, Some("award-1"))
            .await
            .problem(422, "idempotency_conflict");
        // The same key on another endpoint is another request, hence a conflict too.
        let reversal = format!(
            "/api/v1/banks/{}/entries/{}/reversal",
            village.bank, first["id"]
        );
        app.post_with_key(&reversal, json!({"memo": "x"}), Some("award-1"))
            .await
            .problem(422, "idempotency_conflict");

        let bad_key = app.post_with_key(&path, body, Some("has space")).await;
        assert_eq!(
            bad_key.problem(422, "validation_failed")["field"],
            "Idempotency-Key"
        );
        assert_eq!(app.balance(&village, wallet).await, "8.00");
    }
);

on_both_backends!(
    concurrent_requests_with_one_key_move_points_once,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "徐强").await;
        let path = format!("/api/v1/banks/{}/entries", village.bank);
        let body = json!({"kind": "award", "memo": "并发重试", "postings": [
            {"account_id": village.issuance, "amount": "-3"}, {"account_id": wallet, "amount": "3"}
        ]});
        let attempts = (0..20).map(|_| app.post_with_key(&path, body.clone(), Some("same-key")));
        let replies = futures_util::future::join_all(attempts).await;
        let ids: std::collections::BTreeSet<i64> = replies
            .iter()
            .map(|r| r.ok(201)["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 1, "every attempt returns the one entry");
        assert_eq!(app.balance(&village, wallet).await, "3.00");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    a_failed_request_can_be_retried_with_its_key,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "孙丽").await;
        let path = format!("/api/v1/banks/{}/entries", village.bank);
        let spend = TestApp::deduct_body(&village, wallet, "5").await;
        app.post_with_key(&path, spend.clone(), Some("spend-1"))
            .await
            .problem(409, "insufficient_funds");
        app.award(&village, wallet, "5").await.ok(201);
        // A failure changed nothing, so the key was not used up.
        app.post_with_key(&path, spend, Some("spend-1"))
            .await
            .ok(201);
        assert_eq!(app.balance(&village, wallet).await, "0.00");
    }
);

on_both_backends!(
    a_key_belongs_to_its_caller_so_another_clerk_replaying_it_gets_no_one_elses_result,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org = app.org_of(&village).await;
        let wallet = app.wallet(&village, "吴霞").await;
        let path = format!("/api/v1/banks/{}/entries", village.bank);
        let body = json!({"kind": "award", "memo": "清洁日", "postings": [
            {"account_id": village.issuance, "amount": "-8"}, {"account_id": wallet, "amount": "8"}
        ]});
        let first = app
            .post_with_key(&path, body.clone(), Some("shared-key"))
            .await;
        first.ok(201);
        assert!(!first.headers.contains_key("idempotent-replayed"));

        // Another staff member sending the same key makes a request of their own.
        let other_admin = app.staff_with_role("org_admin", org).await;
        let other = read(
            app.client
                .post(app.url(&path))
                .bearer_auth(&other_admin)
                .header("Idempotency-Key", "shared-key")
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        other.ok(201);
        assert!(!other.headers.contains_key("idempotent-replayed"));
        assert_ne!(other.body["id"], first.body["id"]);
        assert_eq!(app.balance(&village, wallet).await, "16.00");

        // Each caller's own retry replays their own result, and says so.
        let again = app.post_with_key(&path, body, Some("shared-key")).await;
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.body["id"], first.body["id"]);
        assert_eq!(app.balance(&village, wallet).await, "16.00");
    }
);
