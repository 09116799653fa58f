//! Activities: lifecycle, sign-up with capacity and waiting list, proxies, browsing nearby.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::checkin::{check, event, scan_qr};
use crate::helpers::*;
use crate::on_both_backends;

fn signup(id: i64) -> String {
    format!("/api/v1/me/activities/{id}/signup")
}

/// A published activity starting tomorrow.
async fn upcoming(app: &TestApp, village: &Village, extra: serde_json::Value) -> i64 {
    let start = Utc::now() + Duration::days(1);
    let mut body = json!({
        "org_id": app.org_of(village).await, "title": "环境整治", "category": "环境", "address": "村委会",
        "location": {"latitude": 30.2, "longitude": 120.0, "radius_m": 300},
        "starts_at": start.to_rfc3339(), "ends_at": (start + Duration::hours(2)).to_rfc3339(),
        "award": {"mode": "fixed", "points": "10"}
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let id = app.post("/api/v1/activities", body).await.ok(201)["id"]
        .as_i64()
        .unwrap();
    let published = app
        .post(&format!("/api/v1/activities/{id}/publish"), json!({}))
        .await;
    assert_eq!(published.ok(200)["status"], "published");
    id
}

on_both_backends!(
    a_full_activity_puts_later_volunteers_on_a_waiting_list_that_moves_up,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let id = upcoming(&app, &village, json!({"capacity": 2})).await;
        let mut members = Vec::new();
        for name in ["甲", "乙", "丙"] {
            let member = app.member(&village, name).await;
            let reply = app.send_as(&member.token, "POST", &signup(id), None).await;
            members.push((
                member,
                reply.ok(200)["status"].as_str().unwrap().to_string(),
            ));
        }
        let statuses: Vec<&str> = members.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(statuses, ["confirmed", "confirmed", "waitlisted"]);
        // Signing up twice changes nothing.
        let again = app
            .send_as(&members[0].0.token, "POST", &signup(id), None)
            .await;
        assert_eq!(again.ok(200)["status"], "confirmed");

        app.send_as(&members[0].0.token, "DELETE", &signup(id), None)
            .await
            .ok(200);
        let list = app.get(&format!("/api/v1/activities/{id}/signups")).await;
        let list = list.ok(200).clone();
        let status_of = |member_id: i64| {
            list.as_array()
                .unwrap()
                .iter()
                .find(|s| s["member_id"] == member_id)
                .unwrap()["status"]
                .clone()
        };
        assert_eq!(status_of(members[2].0.id), "confirmed");
        assert_eq!(status_of(members[0].0.id), "cancelled");
    }
);

on_both_backends!(
    concurrent_sign_ups_never_exceed_the_capacity,
    |backend| async move {
        let app = std::sync::Arc::new(spawn_app(backend).await);
        let village = app.village().await;
        let id = upcoming(&app, &village, json!({"capacity": 5})).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let member = app.member(&village, &format!("志愿者{i}")).await;
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let reply = app.send_as(&member.token, "POST", &signup(id), None).await;
                reply.ok(200)["status"].as_str().unwrap().to_string()
            }));
        }
        let mut confirmed = 0;
        for task in tasks {
            if task.await.unwrap() == "confirmed" {
                confirmed += 1;
            }
        }
        assert_eq!(confirmed, 5);
    }
);

on_both_backends!(
    staff_sign_up_members_on_their_behalf_only_when_allowed,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let id = upcoming(&app, &village, json!({})).await;
        let url = format!("/api/v1/activities/{id}/signups");
        let independent = app.member(&village, "张三").await;
        app.post(&url, json!({"member_id": independent.id}))
            .await
            .problem(409, "proxy_not_allowed");
        let elderly = app
            .member_with(&village, json!({"name": "王奶奶", "allow_proxy": true}))
            .await;
        let signed = app.post(&url, json!({"member_id": elderly.id})).await;
        let signed = signed.ok(200);
        assert_eq!(signed["status"], "confirmed");
        assert!(signed["proxied_by"].as_str().unwrap().starts_with("staff:"));
    }
);

on_both_backends!(
    volunteers_see_published_activities_of_their_bank_nearest_first,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let other_village = app.village().await;
        let far = upcoming(
            &app,
            &village,
            json!({"location": {"latitude": 30.3, "longitude": 120.0, "radius_m": 300}}),
        )
        .await;
        let near = upcoming(&app, &village, json!({})).await;
        upcoming(&app, &other_village, json!({})).await;
        let member = app.member(&village, "张三").await;
        app.send_as(&member.token, "POST", &signup(near), None)
            .await
            .ok(200);
        let listed = app
            .send_as(
                &member.token,
                "GET",
                "/api/v1/me/activities?latitude=30.2&longitude=120.0",
                None,
            )
            .await;
        let listed = listed.ok(200).as_array().unwrap().clone();
        let ids: Vec<i64> = listed.iter().map(|a| a["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [near, far]);
        assert_eq!(listed[0]["my_signup"], "confirmed");
        assert_eq!(listed[0]["distance_m"], 0);
        let within = app
            .send_as(
                &member.token,
                "GET",
                "/api/v1/me/activities?latitude=30.2&longitude=120.0&within_m=1000",
                None,
            )
            .await;
        assert_eq!(within.ok(200).as_array().unwrap().len(), 1);
    }
);

on_both_backends!(
    a_sign_up_only_activity_refuses_walk_ins_and_cancelled_activities_refuse_scans,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let event = event(
            &app,
            &village,
            Duration::minutes(5),
            Duration::hours(1),
            json!({"signup_required": true}),
        )
        .await;
        let walk_in = app.member(&village, "张三").await;
        let code = scan_qr(&app, &event, "dynamic", "check_in").await;
        check(&app, &walk_in, &code, json!({}))
            .await
            .problem(409, "not_signed_up");
        // It has started: sign-up is closed.
        app.send_as(&walk_in.token, "POST", &signup(event.id), None)
            .await
            .problem(409, "signup_closed");

        let cancelled = app
            .post(
                &format!("/api/v1/activities/{}/cancel", event.id),
                json!({}),
            )
            .await;
        assert_eq!(cancelled.ok(200)["status"], "cancelled");
        check(&app, &walk_in, &code, json!({}))
            .await
            .problem(409, "activity_not_open");
        app.post(
            &format!("/api/v1/activities/{}/publish", event.id),
            json!({}),
        )
        .await
        .problem(409, "invalid_transition");
    }
);

on_both_backends!(
    another_villages_organiser_cannot_see_or_run_the_activity,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let other = app.village().await;
        let id = upcoming(&app, &village, json!({})).await;
        let outsider = app
            .staff_with_role("organiser", app.org_of(&other).await)
            .await;
        for (method, path) in [
            ("GET", format!("/api/v1/activities/{id}")),
            ("GET", format!("/api/v1/activities/{id}/qr/payload")),
            ("POST", format!("/api/v1/activities/{id}/cancel")),
            ("POST", format!("/api/v1/activities/{id}/settlement")),
            ("GET", format!("/api/v1/activities/{id}/attendance")),
            ("GET", format!("/api/v1/activities/{id}/refused-scans")),
        ] {
            let reply = app.send_as(&outsider, method, &path, Some(json!({}))).await;
            // Answered exactly as for an activity that does not exist: ids cannot be probed.
            reply.problem(404, "not_found");
        }
        let insider = app
            .staff_with_role("organiser", app.org_of(&village).await)
            .await;
        let qr = app
            .send_as(
                &insider,
                "GET",
                &format!("/api/v1/activities/{id}/qr/payload"),
                None,
            )
            .await;
        assert!(qr.ok(200)["url"].as_str().unwrap().contains("/q/"));
    }
);
