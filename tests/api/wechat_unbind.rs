//! Undoing a WeChat binding: by the member, or by the village's administrator after a lost phone.
//! The WeChat user must bind again, and the member tokens of the old binding stop working at once.

use serde_json::{json, Value};

use crate::access::{call, org, staff_token};
use crate::helpers::*;
use crate::on_both_backends;
use crate::wechat::{post_public, wechat_app};

const PHONE: &str = "13655556666";
const NAME: &str = "陈桂兰";

async fn with_member_token(app: &TestApp, token: &str, method: &str, path: &str) -> Reply {
    call(app, token, method, path, &Value::Null).await
}

/// Signs in with WeChat as `openid`, binding to the member when asked; returns the member token.
async fn sign_in(app: &TestApp, openid: &str) -> String {
    let code = json!({"code": format!("code-{openid}")});
    let first = post_public(app, "/api/v1/auth/wechat", code.clone()).await;
    let first = first.ok(200).clone();
    if first["status"] == "signed_in" {
        return first["access_token"].as_str().unwrap().to_string();
    }
    assert_eq!(first["status"], "binding_required");
    let bound = post_public(
        app,
        "/api/v1/auth/wechat/bind",
        json!({"binding_ticket": first["binding_ticket"], "phone": PHONE, "name": NAME}),
    )
    .await;
    bound.ok(200)["access_token"].as_str().unwrap().to_string()
}

async fn status_of_sign_in(app: &TestApp, openid: &str) -> Value {
    let reply = post_public(
        app,
        "/api/v1/auth/wechat",
        json!({"code": format!("code-{openid}")}),
    )
    .await;
    reply.ok(200)["status"].clone()
}

async fn register(app: &TestApp, org_id: i64) -> i64 {
    app.post(
        "/api/v1/banks",
        json!({"org_id": org_id, "name": "积分银行"}),
    )
    .await
    .ok(201);
    let member = app
        .post(
            "/api/v1/members",
            json!({"org_id": org_id, "name": NAME, "phone": PHONE}),
        )
        .await;
    member.ok(201)["id"].as_i64().unwrap()
}

on_both_backends!(
    a_member_unlinks_their_own_wechat_and_its_tokens_stop_working_at_once,
    |backend| async move {
        let app = wechat_app(backend).await;
        let village = org(&app, "A", "village", None).await;
        let member_id = register(&app, village).await;
        let at_binding = sign_in(&app, "phone-1").await;
        let later = sign_in(&app, "phone-1").await;
        assert_eq!(status_of_sign_in(&app, "phone-1").await, "signed_in");
        with_member_token(&app, &later, "GET", "/api/v1/me")
            .await
            .ok(200);
        // A staff token is not a member's.
        with_member_token(&app, &app.token, "DELETE", "/api/v1/me/wechat")
            .await
            .problem(403, "forbidden");

        let unlinked = with_member_token(&app, &later, "DELETE", "/api/v1/me/wechat").await;
        assert_eq!(unlinked.status, 204);
        for token in [&at_binding, &later] {
            with_member_token(&app, token, "GET", "/api/v1/me")
                .await
                .problem(401, "unauthorized");
        }
        with_member_token(&app, &later, "DELETE", "/api/v1/me/wechat")
            .await
            .problem(401, "unauthorized");

        // The same WeChat user must bind again; binding anew does not revive the old tokens.
        assert_eq!(status_of_sign_in(&app, "phone-1").await, "binding_required");
        let rebound = sign_in(&app, "phone-1").await;
        with_member_token(&app, &rebound, "GET", "/api/v1/me")
            .await
            .ok(200);
        with_member_token(&app, &later, "GET", "/api/v1/me")
            .await
            .problem(401, "unauthorized");

        let log = app.get("/api/v1/audit?action=member.wechat_unbind").await;
        let records = log.ok(200)["items"].as_array().unwrap().clone();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["actor"], format!("member:{member_id}"));
        assert_eq!(records[0]["before"]["wechat_bound"], true);
        assert_eq!(records[0]["after"]["wechat_bound"], false);
        assert!(
            !records[0].to_string().contains("phone-1"),
            "no openid in the log"
        );
    }
);

on_both_backends!(
    a_village_admin_unlinks_a_lost_phone_and_only_theirs,
    |backend| async move {
        let app = wechat_app(backend).await;
        let township = org(&app, "T", "township", None).await;
        let village_a = org(&app, "A", "village", Some(township)).await;
        let village_b = org(&app, "B", "village", Some(township)).await;
        let member_id = register(&app, village_a).await;
        let lost_phone = sign_in(&app, "lost-phone").await;
        let unbind = format!("/api/v1/members/{member_id}/wechat");

        let admin_b = staff_token(&app, "13600000011", "org_admin", village_b).await;
        let organiser_a = staff_token(&app, "13600000012", "organiser", village_a).await;
        let clerk_a = staff_token(&app, "13600000013", "clerk", village_a).await;
        let admin_a = staff_token(&app, "13600000014", "org_admin", village_a).await;
        call(&app, &admin_b, "DELETE", &unbind, &Value::Null)
            .await
            .problem(404, "not_found");
        for token in [&organiser_a, &clerk_a] {
            call(&app, token, "DELETE", &unbind, &Value::Null)
                .await
                .problem(403, "forbidden");
        }
        with_member_token(&app, &lost_phone, "GET", "/api/v1/me")
            .await
            .ok(200);

        let unlinked = call(&app, &admin_a, "DELETE", &unbind, &Value::Null).await;
        assert_eq!(unlinked.status, 204, "{}", unlinked.body);
        with_member_token(&app, &lost_phone, "GET", "/api/v1/me/statement")
            .await
            .problem(401, "unauthorized");
        assert_eq!(
            status_of_sign_in(&app, "lost-phone").await,
            "binding_required"
        );
        call(&app, &admin_a, "DELETE", &unbind, &Value::Null)
            .await
            .problem(404, "not_found");
        call(
            &app,
            &admin_a,
            "DELETE",
            "/api/v1/members/999999/wechat",
            &Value::Null,
        )
        .await
        .problem(404, "not_found");

        // The member's new phone binds as before.
        let new_phone = sign_in(&app, "new-phone").await;
        let me = with_member_token(&app, &new_phone, "GET", "/api/v1/me").await;
        assert_eq!(me.ok(200)["id"], member_id);

        let log = call(
            &app,
            &admin_a,
            "GET",
            "/api/v1/audit?action=member.wechat_unbind",
            &Value::Null,
        )
        .await;
        let records = log.ok(200)["items"].as_array().unwrap().clone();
        assert_eq!(records.len(), 1, "refused attempts are not recorded");
        let record = &records[0];
        assert_eq!(record["target"], format!("member:{member_id}"));
        assert!(record["actor"].as_str().unwrap().starts_with("staff:"));
        assert_ne!(record["actor"], "staff:1");
        assert_eq!(record["before"]["wechat_bound"], true);
        assert!(record["before"]["bound_at"].is_string());
        assert_eq!(record["after"], json!({"wechat_bound": false}));
    }
);
