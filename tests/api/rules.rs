//! Points rules, staff awards and deductions under them, caps, and the approval queue.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;

async fn rule(app: &TestApp, village: &Village, body: Value) -> i64 {
    app.post(&format!("/api/v1/banks/{}/rules", village.bank), body)
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap()
}

async fn patrol_rule(app: &TestApp, village: &Village, extra: Value) -> i64 {
    let mut body = json!({
        "code": format!("V{}", rand_digits()), "name": "防溺水巡河", "category": "volunteer_service",
        "default_points": "5", "min_points": "1", "max_points": "20"
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    rule(app, village, body).await
}

fn awards(village: &Village) -> String {
    format!("/api/v1/banks/{}/awards", village.bank)
}

async fn statement(app: &TestApp, member: &TestMember) -> Vec<Value> {
    app.send_as(&member.token, "GET", "/api/v1/me/statement", None)
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

on_both_backends!(
    a_batch_award_pays_each_member_one_entry_that_names_its_rule,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let rule_id = patrol_rule(&app, &village, json!({})).await;
        let mut members = Vec::new();
        for name in ["张三", "李四", "王五"] {
            members.push(app.member(&village, name).await);
        }
        let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
        let outcome = app
            .post(
                &awards(&village),
                json!({"rule_id": rule_id, "member_ids": ids, "memo": "11月第3周"}),
            )
            .await;
        let outcome = outcome.ok(201);
        assert_eq!(outcome["status"], "posted");
        assert_eq!(outcome["entries"].as_array().unwrap().len(), 3);
        for member in &members {
            assert_eq!(app.wallet_balance(&village, member.points).await, "5.00");
            let lines = statement(&app, member).await;
            assert_eq!(lines.len(), 1);
            assert_eq!(lines[0]["origin"], "staff_award");
            assert_eq!(lines[0]["rule"]["name"], "防溺水巡河");
            assert_eq!(lines[0]["rule"]["category"], "volunteer_service");
            assert_eq!(lines[0]["memo"], "防溺水巡河: 11月第3周");
        }
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    a_batch_award_with_one_bad_member_pays_no_one,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let other = app.village().await;
        let rule_id = patrol_rule(&app, &village, json!({})).await;
        let here = app.member(&village, "张三").await;
        let elsewhere = app.member(&other, "李四").await;
        let reply = app
            .post(
                &awards(&village),
                json!({"rule_id": rule_id, "member_ids": [here.id, elsewhere.id]}),
            )
            .await;
        reply.problem(404, "not_found");
        assert_eq!(app.wallet_balance(&village, here.points).await, "0.00");

        let duplicate = app
            .post(
                &awards(&village),
                json!({"rule_id": rule_id, "member_ids": [here.id, here.id]}),
            )
            .await;
        assert_eq!(
            duplicate.problem(422, "validation_failed")["field"],
            "member_ids[1]"
        );
        let outside = app
            .post(
                &awards(&village),
                json!({"rule_id": rule_id, "member_ids": [here.id], "points": "21"}),
            )
            .await;
        assert_eq!(outside.problem(422, "validation_failed")["field"], "points");
    }
);

on_both_backends!(a_daily_cap_stops_awards_beyond_it, |backend| async move {
    let app = spawn_app(backend).await;
    let village = app.village().await;
    let rule_id = patrol_rule(&app, &village, json!({"cap_per_day": "10"})).await;
    let member = app.member(&village, "张三").await;
    for _ in 0..2 {
        app.post(
            &awards(&village),
            json!({"rule_id": rule_id, "member_ids": [member.id]}),
        )
        .await
        .ok(201);
    }
    let third = app
        .post(
            &awards(&village),
            json!({"rule_id": rule_id, "member_ids": [member.id]}),
        )
        .await;
    third.problem(409, "cap_exceeded");
    assert_eq!(app.wallet_balance(&village, member.points).await, "10.00");
});

on_both_backends!(a_cap_holds_under_concurrent_awards, |backend| async move {
    let app = std::sync::Arc::new(spawn_app(backend).await);
    let village = app.village().await;
    let rule_id = patrol_rule(&app, &village, json!({"cap_per_month": "50"})).await;
    let member = app.member(&village, "张三").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = app.clone();
        let url = awards(&village);
        let body = json!({"rule_id": rule_id, "member_ids": [member.id]});
        tasks.push(tokio::spawn(async move {
            app.post(&url, body).await.status.as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(app.wallet_balance(&village, member.points).await, "50.00");
});

on_both_backends!(
    a_deduction_rule_takes_points_but_never_below_zero,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let award = patrol_rule(&app, &village, json!({})).await;
        let deduction = rule(
            &app,
            &village,
            json!({"code": "D01", "name": "乱倒垃圾", "category": "village_rules", "default_points": "-3"}),
        )
        .await;
        let member = app.member(&village, "张三").await;
        app.post(
            &awards(&village),
            json!({"rule_id": award, "member_ids": [member.id]}),
        )
        .await
        .ok(201);
        let deducted = app
            .post(
                &awards(&village),
                json!({"rule_id": deduction, "member_ids": [member.id]}),
            )
            .await;
        assert_eq!(deducted.ok(201)["entries"][0]["kind"], "deduct");
        assert_eq!(app.wallet_balance(&village, member.points).await, "2.00");
        let too_much = app
            .post(
                &awards(&village),
                json!({"rule_id": deduction, "member_ids": [member.id]}),
            )
            .await;
        too_much.problem(409, "insufficient_funds");
        let lines = statement(&app, &member).await;
        assert_eq!(lines[0]["origin"], "deduction");
        assert_eq!(lines[0]["amount"], "-3.00");
        assert_eq!(lines[0]["rule"]["category"], "village_rules");
    }
);

on_both_backends!(
    rules_refuse_mixed_signs_and_duplicate_codes,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let url = format!("/api/v1/banks/{}/rules", village.bank);
        let mixed = app
            .post(&url, json!({"code": "X", "name": "x", "category": "other", "default_points": "5", "min_points": "-1"}))
            .await;
        mixed.problem(422, "validation_failed");
        let body = json!({"code": "G01", "name": "好人好事", "category": "good_deeds", "default_points": "10"});
        app.post(&url, body.clone()).await.ok(201);
        app.post(&url, body).await.problem(409, "already_exists");
        let listed = app.get(&url).await;
        assert_eq!(listed.ok(200).as_array().unwrap().len(), 1);
    }
);

on_both_backends!(
    an_award_under_a_two_person_rule_waits_for_someone_else_to_approve,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org = app.org_of(&village).await;
        let rule_id = patrol_rule(&app, &village, json!({"needs_second_approver": true})).await;
        let member = app.member(&village, "张三").await;
        let pending = app
            .post(
                &awards(&village),
                json!({"rule_id": rule_id, "member_ids": [member.id]}),
            )
            .await;
        let pending = pending.ok(202);
        assert_eq!(pending["status"], "pending_approval");
        let claim = pending["claims"][0]["id"].as_i64().unwrap();
        assert_eq!(pending["claims"][0]["origin"], "staff_award");
        assert_eq!(app.wallet_balance(&village, member.points).await, "0.00");

        let decision = format!("/api/v1/banks/{}/claims/{claim}/decision", village.bank);
        let own = app.post(&decision, json!({"approve": true})).await;
        own.problem(409, "second_approver_required");

        let colleague = app.staff_with_role("org_admin", org).await;
        let approved = app
            .send_as(
                &colleague,
                "POST",
                &decision,
                Some(json!({"approve": true, "note": "核实"})),
            )
            .await;
        let approved = approved.ok(200);
        assert_eq!(approved["claim"]["status"], "approved");
        assert_eq!(approved["entry"]["origin"], "staff_award");
        assert_eq!(app.wallet_balance(&village, member.points).await, "5.00");

        let again = app
            .send_as(
                &colleague,
                "POST",
                &decision,
                Some(json!({"approve": true})),
            )
            .await;
        again.problem(409, "claim_not_pending");
        assert_eq!(app.wallet_balance(&village, member.points).await, "5.00");
    }
);

on_both_backends!(
    a_backfilled_record_needs_a_reason_and_shows_as_backfill,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org = app.org_of(&village).await;
        let rule_id = patrol_rule(&app, &village, json!({})).await;
        let member = app.member(&village, "张三").await;
        let blank = app
            .post(
                &awards(&village),
                json!({"rule_id": rule_id, "member_ids": [member.id], "backfill": {"reason": " "}}),
            )
            .await;
        assert_eq!(
            blank.problem(422, "validation_failed")["field"],
            "backfill.reason"
        );
        let pending = app
            .post(
                &awards(&village),
                json!({"rule_id": rule_id, "member_ids": [member.id], "backfill": {"reason": "11月2日巡河漏登记"}}),
            )
            .await;
        let claim = pending.ok(202)["claims"][0]["id"].as_i64().unwrap();
        let colleague = app.staff_with_role("org_admin", org).await;
        app.send_as(
            &colleague,
            "POST",
            &format!("/api/v1/banks/{}/claims/{claim}/decision", village.bank),
            Some(json!({"approve": true})),
        )
        .await
        .ok(200);
        let lines = statement(&app, &member).await;
        assert_eq!(lines[0]["origin"], "backfill");
        assert!(lines[0]["memo"].as_str().unwrap().contains("补录"));
    }
);

on_both_backends!(
    a_members_claim_pays_only_when_approved,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let rule_id = patrol_rule(&app, &village, json!({})).await;
        let member = app.member(&village, "张三").await;
        let bad_link = app
            .send_as(
                &member.token,
                "POST",
                "/api/v1/me/claims",
                Some(json!({"rule_id": rule_id, "description": "打扫", "evidence": ["ftp://x"]})),
            )
            .await;
        assert_eq!(
            bad_link.problem(422, "validation_failed")["field"],
            "evidence[0]"
        );
        let mut ids = Vec::new();
        for description in ["帮助孤寡老人打扫院子", "重复申报"] {
            let claim = app
                .send_as(&member.token, "POST", "/api/v1/me/claims",
                    Some(json!({"rule_id": rule_id, "description": description, "evidence": ["https://img.example.cn/a.jpg"]})))
                .await;
            let claim = claim.ok(201);
            assert_eq!(claim["submitted_by"], format!("member:{}", member.id));
            ids.push(claim["id"].as_i64().unwrap());
        }
        let queue = app
            .get(&format!(
                "/api/v1/banks/{}/claims?status=pending",
                village.bank
            ))
            .await;
        assert_eq!(queue.ok(200)["items"].as_array().unwrap().len(), 2);
        let decide = |id: i64, approve: bool| {
            let app = &app;
            let url = format!("/api/v1/banks/{}/claims/{id}/decision", village.bank);
            async move {
                app.post(&url, json!({"approve": approve, "note": "见照片"}))
                    .await
            }
        };
        assert_eq!(
            decide(ids[0], true).await.ok(200)["claim"]["status"],
            "approved"
        );
        let rejected = decide(ids[1], false).await;
        assert!(rejected.ok(200)["entry"].is_null());
        assert_eq!(app.wallet_balance(&village, member.points).await, "5.00");
        let mine = app
            .send_as(&member.token, "GET", "/api/v1/me/claims", None)
            .await;
        let statuses: Vec<&str> = mine.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["rejected", "approved"]);
        assert_eq!(statement(&app, &member).await[0]["origin"], "claim");
    }
);

on_both_backends!(
    a_grid_worker_claims_for_a_member_only_when_their_record_allows_it,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org = app.org_of(&village).await;
        let rule_id = patrol_rule(&app, &village, json!({})).await;
        let worker = app.staff_with_role("organiser", org).await;
        let url = format!("/api/v1/banks/{}/claims", village.bank);
        let independent = app.member(&village, "张三").await;
        let refused = app
            .send_as(&worker, "POST", &url,
                Some(json!({"member_id": independent.id, "rule_id": rule_id, "description": "代申报"})))
            .await;
        refused.problem(409, "proxy_not_allowed");

        let elderly = app
            .member_with(&village, json!({"name": "王奶奶", "allow_proxy": true}))
            .await;
        let claim = app
            .send_as(&worker, "POST", &url,
                Some(json!({"member_id": elderly.id, "rule_id": rule_id, "description": "代老人申报：清理河道"})))
            .await;
        let claim = claim.ok(201).clone();
        assert_eq!(claim["on_behalf_of"], elderly.id);
        assert!(claim["submitted_by"]
            .as_str()
            .unwrap()
            .starts_with("staff:"));
        // The audit log says who acted for whom.
        let audit = app.get("/api/v1/audit?action=claim.submit_on_behalf").await;
        let record = &audit.ok(200)["items"][0];
        assert_eq!(record["actor"], claim["submitted_by"]);
        assert_eq!(record["after"]["on_behalf_of"], elderly.id);
        // The worker can submit but not approve.
        let decision = format!(
            "/api/v1/banks/{}/claims/{}/decision",
            village.bank, claim["id"]
        );
        let approve = app
            .send_as(&worker, "POST", &decision, Some(json!({"approve": true})))
            .await;
        approve.problem(403, "forbidden");
    }
);

on_both_backends!(
    two_approvers_at_once_decide_a_claim_once,
    |backend| async move {
        let app = std::sync::Arc::new(spawn_app(backend).await);
        let village = app.village().await;
        let org = app.org_of(&village).await;
        let rule_id = patrol_rule(&app, &village, json!({"needs_second_approver": true})).await;
        let member = app.member(&village, "张三").await;
        let pending = app
            .post(
                &awards(&village),
                json!({"rule_id": rule_id, "member_ids": [member.id]}),
            )
            .await;
        let claim = pending.ok(202)["claims"][0]["id"].as_i64().unwrap();
        let decision = format!("/api/v1/banks/{}/claims/{claim}/decision", village.bank);
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let approver = app.staff_with_role("org_admin", org).await;
            let app = app.clone();
            let url = decision.clone();
            tasks.push(tokio::spawn(async move {
                app.send_as(&approver, "POST", &url, Some(json!({"approve": true})))
                    .await
                    .status
                    .as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(app.wallet_balance(&village, member.points).await, "5.00");
        app.assert_verified(&village).await;
    }
);
