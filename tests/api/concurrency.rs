//! Many requests at once: no lost update, no negative wallet, no double spend.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

fn count_by_status(replies: &[Reply]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for reply in replies {
        let key = match reply.status.as_u16() {
            200 | 201 => "ok".to_string(),
            _ => reply.body["code"].as_str().unwrap_or("?").to_string(),
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

on_both_backends!(
    exactly_the_affordable_spends_succeed_under_200_concurrent_requests,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "马超").await;
        app.award(&village, wallet, "50").await.ok(201);

        let path = format!("/api/v1/banks/{}/entries", village.bank);
        let spend = TestApp::deduct_body(&village, wallet, "1").await;
        let replies = join_all((0..200).map(|_| app.post(&path, spend.clone()))).await;

        let counts = count_by_status(&replies);
        assert_eq!(counts.get("ok"), Some(&50), "{counts:?}");
        assert_eq!(counts.get("insufficient_funds"), Some(&150), "{counts:?}");
        assert_eq!(app.balance(&village, wallet).await, "0.00");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    holds_and_spends_racing_never_overdraw_the_wallet,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "罗琳").await;
        app.award(&village, wallet, "30").await.ok(201);

        let entries = format!("/api/v1/banks/{}/entries", village.bank);
        let holds = format!("/api/v1/banks/{}/holds", village.bank);
        let spend = TestApp::deduct_body(&village, wallet, "2").await;
        let hold = json!({"account_id": wallet, "amount": "2", "memo": "订单"});
        let requests = (0..60).map(|i| {
            if i % 2 == 0 {
                app.post(&entries, spend.clone())
            } else {
                app.post(&holds, hold.clone())
            }
        });
        let replies = join_all(requests).await;
        let counts = count_by_status(&replies);
        assert_eq!(
            counts.get("ok"),
            Some(&15),
            "30 points cover exactly 15 reservations or spends: {counts:?}"
        );

        let account = app.account(&village, wallet).await;
        assert_eq!(account["available"], "0.00");
        let spent = replies
            .iter()
            .filter(|r| r.status == 201 && r.body["kind"] == "deduct")
            .count();
        let held = 15 - spent;
        assert_eq!(account["held"], format!("{}.00", held * 2));
        assert_eq!(account["balance"], format!("{}.00", 30 - spent * 2));
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    one_entry_is_reversed_once_however_many_try_at_once,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "梁平").await;
        let award_id = app.award(&village, wallet, "10").await.ok(201)["id"]
            .as_i64()
            .unwrap();
        let path = format!("/api/v1/banks/{}/entries/{award_id}/reversal", village.bank);

        let replies = join_all((0..20).map(|_| app.post(&path, json!({"memo": "冲正"})))).await;
        let counts = count_by_status(&replies);
        assert_eq!(counts.get("ok"), Some(&1), "{counts:?}");
        assert_eq!(counts.get("already_reversed"), Some(&19), "{counts:?}");
        assert_eq!(app.balance(&village, wallet).await, "0.00");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    a_hold_ends_once_when_capture_and_release_race,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "宋佳").await;
        app.award(&village, wallet, "10").await.ok(201);
        let holds = format!("/api/v1/banks/{}/holds", village.bank);
        let hold_id = app
            .post(
                &holds,
                json!({"account_id": wallet, "amount": "10", "memo": "订单"}),
            )
            .await
            .ok(201)["id"]
            .clone();

        let capture = format!("{holds}/{hold_id}/capture");
        let release = format!("{holds}/{hold_id}/release");
        let attempts = (0..20).map(|i| {
            if i % 2 == 0 {
                app.post(&capture, json!({"memo": "兑换"}))
            } else {
                app.post(&release, json!({}))
            }
        });
        let replies = join_all(attempts).await;
        let counts = count_by_status(&replies);
        assert_eq!(counts.get("ok"), Some(&1), "{counts:?}");
        assert_eq!(counts.get("hold_not_pending"), Some(&19), "{counts:?}");

        let status = app.get(&format!("{holds}/{hold_id}")).await.ok(200)["status"]
            .as_str()
            .unwrap()
            .to_string();
        let expected_balance = if status == "captured" {
            "0.00"
        } else {
            "10.00"
        };
        let account = app.account(&village, wallet).await;
        assert_eq!(account["balance"], expected_balance);
        assert_eq!(account["held"], "0.00");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(concurrent_awards_lose_no_update, |backend| async move {
    let app = spawn_app(backend).await;
    let village = app.village().await;
    let wallets = [
        app.wallet(&village, "郑涛").await,
        app.wallet(&village, "谢红").await,
    ];
    let awards = (0..100).map(|i| app.award(&village, wallets[i % 2], "0.01"));
    let replies = join_all(awards).await;
    assert_eq!(count_by_status(&replies).get("ok"), Some(&100));
    for wallet in wallets {
        assert_eq!(app.balance(&village, wallet).await, "0.50");
    }
    assert_eq!(app.balance(&village, village.issuance).await, "-1.00");
    app.assert_verified(&village).await;
});

on_both_backends!(
    batch_awards_listing_the_same_members_in_different_orders_all_succeed_with_exact_balances,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let rule = app
            .post(
                &format!("/api/v1/banks/{}/rules", village.bank),
                json!({"code": "CLEAN", "name": "清洁家园", "category": "volunteer_service",
                       "default_points": "1", "min_points": "1", "max_points": "10"}),
            )
            .await;
        let rule_id = rule.ok(201)["id"].as_i64().unwrap();
        let mut members = Vec::new();
        for index in 0..12 {
            members.push(app.member(&village, &format!("志愿者{index}")).await);
        }
        let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
        // Every batch lists all twelve, each in its own order: rotated, and every other reversed.
        let batches = (0..48).map(|round| {
            let mut order = ids.clone();
            order.rotate_left(round % ids.len());
            if round % 2 == 1 {
                order.reverse();
            }
            let path = format!("/api/v1/banks/{}/awards", village.bank);
            let app = &app;
            async move {
                app.post(&path, json!({"rule_id": rule_id, "member_ids": order}))
                    .await
            }
        });
        let replies = join_all(batches).await;
        let counts = count_by_status(&replies);
        assert_eq!(counts.get("ok"), Some(&48), "{counts:?}");
        for member in &members {
            assert_eq!(app.wallet_balance(&village, member.points).await, "48.00");
        }
        app.assert_verified(&village).await;
    }
);
