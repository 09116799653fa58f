//! What a signed-in person can read about themselves: staff their account, members one activity.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_staff_member_reads_their_own_account_with_its_current_grants,
    |backend| async move {
        let app = spawn_app(backend).await;
        let me = app.get("/api/v1/staff/me").await;
        let me = me.ok(200);
        assert_eq!(me["name"], "Test Admin");
        assert_eq!(me["grants"][0]["role"], "platform_admin");

        let village = app.village().await;
        let org = app.org_of(&village).await;
        let clerk = app.staff_with_role("clerk", org).await;
        let seen = app.send_as(&clerk, "GET", "/api/v1/staff/me", None).await;
        let grants = seen.ok(200)["grants"].as_array().unwrap().clone();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0]["role"], "clerk");
        assert_eq!(grants[0]["org_id"], org);

        let member = app.member(&village, "钱多").await;
        app.send_as(&member.token, "GET", "/api/v1/staff/me", None)
            .await
            .problem(403, "forbidden");
    }
);

on_both_backends!(
    a_member_reads_one_activity_of_their_bank_with_their_signup_and_nothing_else,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org = app.org_of(&village).await;
        let at = |offset: Duration| (Utc::now() + offset).to_rfc3339();
        let create = |title: &str| {
            json!({"org_id": org, "title": title, "category": "防溺水", "address": "青山村河堤",
                   "starts_at": at(Duration::days(1)), "ends_at": at(Duration::days(1) + Duration::hours(2)),
                   "award": {"mode": "fixed", "points": "10", "min_presence_percent": 0}})
        };
        let published = app.post("/api/v1/activities", create("巡河")).await;
        let published = published.ok(201)["id"].as_i64().unwrap();
        app.post(
            &format!("/api/v1/activities/{published}/publish"),
            json!({}),
        )
        .await
        .ok(200);
        let draft = app.post("/api/v1/activities", create("草稿")).await;
        let draft = draft.ok(201)["id"].as_i64().unwrap();

        let member = app.member(&village, "孙丽").await;
        let read = |id: i64| {
            let path = format!("/api/v1/me/activities/{id}");
            let token = member.token.clone();
            let app = &app;
            async move { app.send_as(&token, "GET", &path, None).await }
        };
        let before = read(published).await;
        assert_eq!(before.ok(200)["title"], "巡河");
        assert!(before.body["my_signup"].is_null());
        app.send_as(
            &member.token,
            "POST",
            &format!("/api/v1/me/activities/{published}/signup"),
            Some(json!({})),
        )
        .await;
        assert_eq!(read(published).await.ok(200)["my_signup"], "confirmed");

        read(draft).await.problem(404, "not_found");
        read(999_999).await.problem(404, "not_found");
        let elsewhere = app.village().await;
        let outsider = app.member(&elsewhere, "外村人").await;
        app.send_as(
            &outsider.token,
            "GET",
            &format!("/api/v1/me/activities/{published}"),
            None,
        )
        .await
        .problem(404, "not_found");
    }
);
