//! The double-entry book: awards, statements, reversals, both assets.

use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    an_award_moves_points_from_issuance_to_the_wallet,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "王秀英").await;

        let entry = app.award(&village, wallet, "12.50").await;
        let entry = entry.ok(201);
        assert_eq!(entry["kind"], "award");
        assert_eq!(entry["actor"], "staff:1");
        assert_eq!(entry["postings"].as_array().unwrap().len(), 2);

        let account = app.account(&village, wallet).await;
        assert_eq!(account["balance"], "12.50");
        assert_eq!(account["held"], "0.00");
        assert_eq!(account["available"], "12.50");
        // The issuance account is derived from its postings: it shows what was issued.
        assert_eq!(app.balance(&village, village.issuance).await, "-12.50");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    entries_in_two_assets_balance_each_asset_separately,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let points = app.wallet(&village, "李建国").await;
        let hours = app
            .post(
                &format!("/api/v1/banks/{}/accounts", village.bank),
                json!({"asset": "HOURS", "name": "李建国"}),
            )
            .await
            .ok(201)["id"]
            .as_i64()
            .unwrap();
        let hours_issuance = app.system_account(village.bank, "HOURS", "issuance").await;
        let reply = app
        .post(
            &format!("/api/v1/banks/{}/entries", village.bank),
            json!({"kind": "award", "memo": "反诈宣传 2 小时", "reference": "activity:7", "postings": [
                {"account_id": village.issuance, "amount": "-20"},
                {"account_id": points, "amount": "20"},
                {"account_id": hours_issuance, "amount": "-2"},
                {"account_id": hours, "amount": "2"}
            ]}),
        )
        .await;
        assert_eq!(reply.ok(201)["reference"], "activity:7");
        assert_eq!(app.balance(&village, points).await, "20.00");
        assert_eq!(app.balance(&village, hours).await, "2.00");

        // Points on one side and hours on the other never balance.
        let crossed = app
            .post(
                &format!("/api/v1/banks/{}/entries", village.bank),
                json!({"kind": "award", "memo": "x", "postings": [
                    {"account_id": village.issuance, "amount": "-2"},
                    {"account_id": hours, "amount": "2"}
                ]}),
            )
            .await;
        crossed.problem(422, "entry_unbalanced");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    a_statement_is_newest_first_paginated_and_filterable,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "张伟").await;
        for amount in ["1", "2", "3", "4", "5"] {
            app.award(&village, wallet, amount).await.ok(201);
        }
        let deduct = TestApp::deduct_body(&village, wallet, "1.50").await;
        app.post(&format!("/api/v1/banks/{}/entries", village.bank), deduct)
            .await
            .ok(201);

        let path = format!("/api/v1/banks/{}/accounts/{wallet}/statement", village.bank);
        let first = app.get(&format!("{path}?limit=4")).await;
        let first = first.ok(200);
        let amounts: Vec<&str> = first["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["amount"].as_str().unwrap())
            .collect();
        assert_eq!(amounts, ["-1.50", "5.00", "4.00", "3.00"]);
        let after: Vec<&str> = first["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["balance_after"].as_str().unwrap())
            .collect();
        assert_eq!(after, ["13.50", "15.00", "10.00", "6.00"]);
        let cursor = first["next_cursor"].as_str().expect("more pages");

        let second = app.get(&format!("{path}?limit=4&cursor={cursor}")).await;
        let second = second.ok(200);
        let amounts: Vec<&str> = second["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["amount"].as_str().unwrap())
            .collect();
        assert_eq!(amounts, ["2.00", "1.00"]);
        assert!(second["next_cursor"].is_null());

        let deductions = app.get(&format!("{path}?kind=deduct")).await;
        let items = deductions.ok(200)["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["memo"], "违反村规民约");

        let future = app.get(&format!("{path}?from=2999-01-01T00:00:00Z")).await;
        assert_eq!(future.ok(200)["items"].as_array().unwrap().len(), 0);
        let past = app
            .get(&format!("{path}?to=2000-01-01T00:00:00%2B08:00"))
            .await;
        assert_eq!(past.ok(200)["items"].as_array().unwrap().len(), 0);
        let everything = app
            .get(&format!(
                "{path}?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z"
            ))
            .await;
        assert_eq!(everything.ok(200)["items"].as_array().unwrap().len(), 6);
    }
);

on_both_backends!(
    a_reversal_undoes_an_entry_once_and_both_stay_visible,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "刘芳").await;
        let award = app.award(&village, wallet, "30").await;
        let award_id = award.ok(201)["id"].as_i64().unwrap();

        let reversal_path = format!("/api/v1/banks/{}/entries/{award_id}/reversal", village.bank);
        let reversal = app
            .post(&reversal_path, json!({"memo": "重复发放，冲正"}))
            .await;
        let reversal = reversal.ok(201).clone();
        assert_eq!(reversal["kind"], "reverse");
        assert_eq!(reversal["reverses_entry_id"], award_id);
        assert_eq!(app.balance(&village, wallet).await, "0.00");
        assert_eq!(app.balance(&village, village.issuance).await, "0.00");

        let original = app
            .get(&format!(
                "/api/v1/banks/{}/entries/{award_id}",
                village.bank
            ))
            .await;
        assert_eq!(original.ok(200)["reversed_by_entry_id"], reversal["id"]);

        app.post(&reversal_path, json!({"memo": "again"}))
            .await
            .problem(409, "already_reversed");
        let reversal_of_reversal = format!(
            "/api/v1/banks/{}/entries/{}/reversal",
            village.bank, reversal["id"]
        );
        app.post(&reversal_of_reversal, json!({"memo": "undo undo"}))
            .await
            .problem(409, "not_reversible");

        let statement = app
            .get(&format!(
                "/api/v1/banks/{}/accounts/{wallet}/statement",
                village.bank
            ))
            .await;
        let kinds: Vec<&str> = statement.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["reverse", "award"]);
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    reversing_points_already_spent_is_refused,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "陈静").await;
        let award_id = app.award(&village, wallet, "10").await.ok(201)["id"]
            .as_i64()
            .unwrap();
        let spend = TestApp::deduct_body(&village, wallet, "8").await;
        app.post(&format!("/api/v1/banks/{}/entries", village.bank), spend)
            .await
            .ok(201);

        let reply = app
            .post(
                &format!("/api/v1/banks/{}/entries/{award_id}/reversal", village.bank),
                json!({"memo": "x"}),
            )
            .await;
        reply.problem(409, "insufficient_funds");
        assert_eq!(app.balance(&village, wallet).await, "2.00");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    transfers_move_points_between_members_only,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let (a, b) = (
            app.wallet(&village, "杨洋").await,
            app.wallet(&village, "赵磊").await,
        );
        app.award(&village, a, "5").await.ok(201);
        let transfer = |amount: &str| {
            json!({"kind": "transfer", "memo": "家庭合并", "postings": [
                {"account_id": a, "amount": format!("-{amount}")}, {"account_id": b, "amount": amount}
            ]})
        };
        let path = format!("/api/v1/banks/{}/entries", village.bank);
        app.post(&path, transfer("5.01"))
            .await
            .problem(409, "insufficient_funds");
        app.post(&path, transfer("5")).await.ok(201);
        assert_eq!(app.balance(&village, a).await, "0.00");
        assert_eq!(app.balance(&village, b).await, "5.00");
        let to_issuance = json!({"kind": "transfer", "memo": "x", "postings": [
            {"account_id": b, "amount": "-1"}, {"account_id": village.issuance, "amount": "1"}
        ]});
        app.post(&path, to_issuance)
            .await
            .problem(422, "invalid_entry");
    }
);
