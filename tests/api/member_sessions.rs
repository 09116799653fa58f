//! Mini-program sessions: member refresh tokens rotate like the staff's, a reused one ends its
//! session (and only that one), and undoing the WeChat binding ends every session of the member.

use serde_json::{json, Value};

use crate::access::{call, org};
use crate::helpers::*;
use crate::on_both_backends;
use crate::wechat::{post_public, wechat_app};

const PHONE: &str = "13577778888";
const NAME: &str = "周建华";

/// A village with one member; returns the member's id.
async fn member(app: &TestApp) -> i64 {
    let village = org(app, "A", "village", None).await;
    app.post(
        "/api/v1/banks",
        json!({"org_id": village, "name": "积分银行"}),
    )
    .await
    .ok(201);
    let member = app
        .post(
            "/api/v1/members",
            json!({"org_id": village, "name": NAME, "phone": PHONE}),
        )
        .await;
    member.ok(201)["id"].as_i64().unwrap()
}

/// A WeChat sign-in of `openid` (binding first if asked): the session's answer.
async fn wechat_session(app: &TestApp, openid: &str) -> Value {
    let code = json!({"code": format!("code-{openid}")});
    let first = post_public(app, "/api/v1/auth/wechat", code).await;
    let first = first.ok(200).clone();
    if first["status"] == "signed_in" {
        return first;
    }
    let bound = post_public(
        app,
        "/api/v1/auth/wechat/bind",
        json!({"binding_ticket": first["binding_ticket"], "phone": PHONE, "name": NAME}),
    )
    .await;
    bound.ok(200).clone()
}

async fn refresh(app: &TestApp, token: &Value) -> Reply {
    post_public(
        app,
        "/api/v1/auth/wechat/refresh",
        json!({"refresh_token": token}),
    )
    .await
}

async fn me(app: &TestApp, session: &Value) -> Reply {
    let token = session["access_token"].as_str().unwrap();
    call(app, token, "GET", "/api/v1/me", &Value::Null).await
}

on_both_backends!(
    a_member_refreshes_without_wx_login_and_a_reused_refresh_token_ends_that_session,
    |backend| async move {
        let app = wechat_app(backend).await;
        let member_id = member(&app).await;
        let first = wechat_session(&app, "phone-1").await;
        assert!(first["refresh_token"].as_str().unwrap().starts_with("mrt_"));
        assert!(first["refresh_expires_in"].as_i64().unwrap() > 29 * 86_400);

        let second = refresh(&app, &first["refresh_token"]).await;
        let second = second.ok(200).clone();
        assert_eq!(second["status"], "signed_in");
        assert_eq!(second["member_id"], member_id);
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        assert_eq!(me(&app, &second).await.ok(200)["id"], member_id);
        let third = refresh(&app, &second["refresh_token"])
            .await
            .ok(200)
            .clone();

        // Another sign-in is another session: the reuse below does not end it.
        let other = wechat_session(&app, "phone-1").await;

        refresh(&app, &first["refresh_token"])
            .await
            .problem(401, "refresh_token_reused");
        refresh(&app, &third["refresh_token"])
            .await
            .problem(401, "invalid_refresh_token");
        let other = refresh(&app, &other["refresh_token"]).await.ok(200).clone();

        // Staff and member refresh tokens open only their own doors.
        let staff = post_public(
            &app,
            "/api/v1/auth/login",
            json!({"phone": ADMIN_PHONE, "password": ADMIN_PASSWORD}),
        )
        .await;
        let staff = staff.ok(200).clone();
        refresh(&app, &staff["refresh_token"])
            .await
            .problem(401, "invalid_refresh_token");
        post_public(
            &app,
            "/api/v1/auth/refresh",
            json!({"refresh_token": other["refresh_token"]}),
        )
        .await
        .problem(401, "invalid_refresh_token");

        let out = post_public(
            &app,
            "/api/v1/auth/wechat/logout",
            json!({"refresh_token": other["refresh_token"]}),
        )
        .await;
        assert_eq!(out.status, 204);
        refresh(&app, &other["refresh_token"])
            .await
            .problem(401, "invalid_refresh_token");
        refresh(&app, &json!("mrt_not-a-token"))
            .await
            .problem(401, "invalid_refresh_token");
    }
);

on_both_backends!(
    undoing_the_wechat_binding_ends_every_session_of_the_member,
    |backend| async move {
        let app = wechat_app(backend).await;
        let member_id = member(&app).await;
        let one = wechat_session(&app, "lost-phone").await;
        let two = wechat_session(&app, "lost-phone").await;

        let unlinked = app
            .client
            .delete(app.url(&format!("/api/v1/members/{member_id}/wechat")))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(unlinked.status(), 204);
        for session in [&one, &two] {
            refresh(&app, &session["refresh_token"])
                .await
                .problem(401, "invalid_refresh_token");
            me(&app, session).await.problem(401, "unauthorized");
        }

        // The new phone binds and gets a working session; the member's own unlink ends it too.
        let fresh = wechat_session(&app, "new-phone").await;
        let fresh = refresh(&app, &fresh["refresh_token"]).await.ok(200).clone();
        let token = fresh["access_token"].as_str().unwrap();
        let own = call(&app, token, "DELETE", "/api/v1/me/wechat", &Value::Null).await;
        assert_eq!(own.status, 204);
        refresh(&app, &fresh["refresh_token"])
            .await
            .problem(401, "invalid_refresh_token");
    }
);
