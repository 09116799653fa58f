//! The audit log: every staff change, with who, what, where from and before/after, in scope.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_string())
        .collect()
}

on_both_backends!(
    staff_changes_are_audited_once_with_their_request,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let wallet = app.wallet(&village, "董亮").await;
        let path = format!("/api/v1/banks/{}/entries", village.bank);
        let award = json!({"kind": "award", "memo": "巡河", "postings": [
        {"account_id": village.issuance, "amount": "-5"}, {"account_id": wallet, "amount": "5"}]});
        let posted = app
            .post_with_key(&path, award.clone(), Some("audited-1"))
            .await;
        let entry_id = posted.ok(201)["id"].as_i64().unwrap();
        let request_id = posted.headers["x-request-id"].to_str().unwrap().to_string();
        // A replay and a refused request change nothing, so they add nothing to the log.
        app.post_with_key(&path, award, Some("audited-1"))
            .await
            .ok(201);
        app.post(&path, TestApp::deduct_body(&village, wallet, "50").await)
            .await
            .problem(409, "insufficient_funds");

        let log = app.get("/api/v1/audit").await;
        let log = log.ok(200).clone();
        assert_eq!(
            actions(&log),
            ["entry.post", "account.open", "bank.create", "org.create"]
        );
        let record = &log["items"][0];
        assert_eq!(record["actor"], "staff:1");
        assert_eq!(record["target"], format!("entry:{entry_id}"));
        assert_eq!(record["request_id"], request_id);
        assert_eq!(record["client_ip"], "127.0.0.1");
        // The audit log keeps the use-case's record of the entry (minor units), not the view.
        assert_eq!(record["after"]["entry"]["id"], entry_id);
        assert_eq!(record["after"]["postings"][1]["amount"], 500);

        let only_entries = app.get("/api/v1/audit?action=entry.post&limit=1").await;
        assert_eq!(actions(only_entries.ok(200)), ["entry.post"]);
    }
);

on_both_backends!(
    the_audit_log_is_read_only_within_scope_by_auditors_and_admins,
    |backend| async move {
        let app = spawn_app(backend).await;
        let mine = app.village().await;
        let other = app.village().await;
        app.wallet(&other, "别村村民").await;
        let bank = app
            .get(&format!("/api/v1/banks/{}", mine.bank))
            .await
            .ok(200)
            .clone();
        let mut tokens = Vec::new();
        for (phone, role) in [("13200000001", "auditor"), ("13200000002", "clerk")] {
            let created = app
                .post(
                    "/api/v1/staff",
                    json!({"phone": phone, "name": role, "password": "staff-password"}),
                )
                .await;
            let id = created.ok(201)["id"].as_i64().unwrap();
            app.post(
                &format!("/api/v1/staff/{id}/grants"),
                json!({"role": role, "org_id": bank["org_id"]}),
            )
            .await
            .ok(201);
            let login = read(
                app.client
                    .post(app.url("/api/v1/auth/login"))
                    .json(&json!({"phone": phone, "password": "staff-password"}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            tokens.push(login.ok(200)["access_token"].as_str().unwrap().to_string());
        }
        let auditor_view = read(
            app.client
                .get(app.url("/api/v1/audit"))
                .bearer_auth(&tokens[0])
                .send()
                .await
                .unwrap(),
        )
        .await;
        let items = auditor_view.ok(200)["items"].as_array().unwrap().clone();
        assert!(!items.is_empty());
        let own_path = items.iter().find(|i| i["action"] == "bank.create").unwrap()["org_path"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            items
                .iter()
                .all(|i| i["org_path"].as_str().unwrap().starts_with(&own_path)),
            "{items:?}"
        );
        assert!(
            !items.iter().any(|i| i["action"] == "account.open"),
            "the other village's wallet is not visible"
        );

        let clerk_view = read(
            app.client
                .get(app.url("/api/v1/audit"))
                .bearer_auth(&tokens[1])
                .send()
                .await
                .unwrap(),
        )
        .await;
        clerk_view.problem(403, "forbidden");
    }
);
