//! Two-phase holds: reserve, then capture or release; deadlines give points back.

use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_hold_reserves_points_and_capture_redeems_them,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "胡军").await;
        app.award(&village, wallet, "50").await.ok(201);
        let holds = format!("/api/v1/banks/{}/holds", village.bank);

        let hold = app
        .post(&holds, json!({"account_id": wallet, "amount": "30", "memo": "订单 7：洗衣液 ×2", "reference": "order:7"}))
        .await;
        let hold = hold.ok(201).clone();
        assert_eq!(hold["status"], "pending");
        let account = app.account(&village, wallet).await;
        assert_eq!(
            (
                account["balance"].as_str(),
                account["held"].as_str(),
                account["available"].as_str()
            ),
            (Some("50.00"), Some("30.00"), Some("20.00"))
        );

        // Held points cannot be spent elsewhere.
        let spend = TestApp::deduct_body(&village, wallet, "25").await;
        app.post(&format!("/api/v1/banks/{}/entries", village.bank), spend)
            .await
            .problem(409, "insufficient_funds");
        app.post(
            &holds,
            json!({"account_id": wallet, "amount": "20.01", "memo": "x"}),
        )
        .await
        .problem(409, "insufficient_funds");

        let capture_path = format!("{holds}/{}/capture", hold["id"]);
        let capture = app
            .post(&capture_path, json!({"memo": "积分超市兑换"}))
            .await;
        let capture = capture.ok(201).clone();
        assert_eq!(capture["hold"]["status"], "captured");
        assert_eq!(capture["entry"]["kind"], "redeem");
        assert_eq!(capture["entry"]["reference"], "order:7");
        let account = app.account(&village, wallet).await;
        assert_eq!(
            (account["balance"].as_str(), account["held"].as_str()),
            (Some("20.00"), Some("0.00"))
        );
        let sink = app
            .system_account(village.bank, "POINTS", "redemption")
            .await;
        assert_eq!(app.balance(&village, sink).await, "30.00");

        app.post(&capture_path, json!({"memo": "again"}))
            .await
            .problem(409, "hold_not_pending");
        app.post(&format!("{holds}/{}/release", hold["id"]), json!({}))
            .await
            .problem(409, "hold_not_pending");
        let statement = app
            .get(&format!(
                "/api/v1/banks/{}/accounts/{wallet}/statement",
                village.bank
            ))
            .await;
        assert_eq!(statement.ok(200)["items"][0]["kind"], "redeem");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    a_partial_capture_releases_the_rest_and_release_gives_all_back,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "朱艳").await;
        app.award(&village, wallet, "40").await.ok(201);
        let holds = format!("/api/v1/banks/{}/holds", village.bank);

        let first = app
            .post(
                &holds,
                json!({"account_id": wallet, "amount": "15", "memo": "a"}),
            )
            .await
            .ok(201)["id"]
            .clone();
        app.post(
            &format!("{holds}/{first}/capture"),
            json!({"memo": "m", "amount": "15.01"}),
        )
        .await
        .problem(422, "capture_exceeds_hold");
        let capture = app
            .post(
                &format!("{holds}/{first}/capture"),
                json!({"memo": "m", "amount": "10"}),
            )
            .await;
        assert_eq!(capture.ok(201)["hold"]["captured_amount"], "10.00");
        assert_eq!(app.account(&village, wallet).await["available"], "30.00");

        let second = app
            .post(
                &holds,
                json!({"account_id": wallet, "amount": "30", "memo": "b"}),
            )
            .await
            .ok(201)["id"]
            .clone();
        assert_eq!(app.account(&village, wallet).await["available"], "0.00");
        let released = app
            .post(&format!("{holds}/{second}/release"), json!({}))
            .await;
        assert_eq!(released.ok(200)["status"], "released");
        let account = app.account(&village, wallet).await;
        assert_eq!(
            (account["balance"].as_str(), account["available"].as_str()),
            (Some("30.00"), Some("30.00"))
        );
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    a_hold_past_its_deadline_expires_and_cannot_be_captured,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "高峰").await;
        app.award(&village, wallet, "10").await.ok(201);
        let holds = format!("/api/v1/banks/{}/holds", village.bank);
        let hold = app
            .post(
                &holds,
                json!({"account_id": wallet, "amount": "10", "memo": "m", "expires_in_seconds": 600}),
            )
            .await;
        let hold_id = hold.ok(201)["id"].clone();
        assert_eq!(app.account(&village, wallet).await["available"], "0.00");

        app.clock.advance(std::time::Duration::from_secs(601));
        let capture = app
            .post(
                &format!("{holds}/{hold_id}/capture"),
                json!({"memo": "late"}),
            )
            .await;
        assert!(
            ["hold_expired", "hold_not_pending"]
                .contains(&capture.body["code"].as_str().unwrap_or_default()),
            "{}",
            capture.body
        );
        // The sweeper (or the next debit) returns the reservation.
        let mut status = String::new();
        for _ in 0..30 {
            status = app.get(&format!("{holds}/{hold_id}")).await.ok(200)["status"]
                .as_str()
                .unwrap()
                .to_string();
            if status == "expired" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, "expired");
        assert_eq!(app.account(&village, wallet).await["available"], "10.00");

        app.post(
            &holds,
            json!({"account_id": wallet, "amount": "1", "memo": "m", "expires_in_seconds": 0}),
        )
        .await
        .problem(422, "validation_failed");
        app.post(
            &holds,
            json!({"account_id": village.issuance, "amount": "1", "memo": "m"}),
        )
        .await
        .problem(422, "validation_failed");
        let hours = app
            .post(
                &format!("/api/v1/banks/{}/accounts", village.bank),
                json!({"asset": "HOURS", "name": "高峰"}),
            )
            .await
            .ok(201)["id"]
            .clone();
        app.post(
            &holds,
            json!({"account_id": hours, "amount": "1", "memo": "m"}),
        )
        .await
        .problem(422, "validation_failed");
        app.post(
            &holds,
            json!({"account_id": wallet, "amount": "-1", "memo": "m"}),
        )
        .await
        .problem(422, "validation_failed");
        app.assert_verified(&village).await;
    }
);
