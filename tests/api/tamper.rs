//! Tamper evidence: an edit made behind the service's back is found by verify.

use diesel::connection::SimpleConnection;

use crate::helpers::*;
use crate::on_both_backends;

fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.pool.get().expect("connection");
    conn.batch_execute(sql).expect("tampering statement");
}

on_both_backends!(
    editing_a_sealed_posting_is_reported_with_its_entry,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "韩冬").await;
        app.award(&village, wallet, "5").await.ok(201);
        let target = app.award(&village, wallet, "7").await.ok(201).clone();
        app.award(&village, wallet, "9").await.ok(201);
        let sealed = app.assert_verified(&village).await;
        assert!(sealed["head_hash"].is_string());

        // Someone with database access turns 7 points into 700 on both sides, keeping it balanced.
        let entry_id = target["id"].as_i64().unwrap();
        execute(
            &app,
            &format!("UPDATE postings SET amount = amount * 100 WHERE entry_id = {entry_id}"),
        );

        let report = app
            .get(&format!("/api/v1/banks/{}/verify", village.bank))
            .await;
        let report = report.ok(200);
        assert_eq!(report["ok"], false);
        let findings = report["findings"].as_array().unwrap();
        let altered = findings
            .iter()
            .find(|f| f["check"] == "entry_altered")
            .expect("entry_altered reported");
        assert_eq!(altered["entry_id"], entry_id);
        assert!(findings
            .iter()
            .any(|f| f["check"] == "balance_mismatch" && f["account_id"] == wallet));
    }
);

on_both_backends!(
    a_rewritten_chain_or_cached_balance_is_reported,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "唐雪").await;
        app.award(&village, wallet, "5").await.ok(201);
        app.assert_verified(&village).await;

        execute(
            &app,
            &format!("UPDATE accounts SET balance = balance + 100 WHERE id = {wallet}"),
        );
        execute(
            &app,
            &format!(
                "UPDATE seals SET hash = 'forged' WHERE bank_id = {}",
                village.bank
            ),
        );
        let report = app
            .get(&format!("/api/v1/banks/{}/verify", village.bank))
            .await;
        let checks: Vec<String> = report.ok(200)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["check"].as_str().unwrap().to_string())
            .collect();
        assert!(
            checks.contains(&"balance_mismatch".to_string()),
            "{checks:?}"
        );
        assert!(checks.contains(&"seal_altered".to_string()), "{checks:?}");
    }
);
