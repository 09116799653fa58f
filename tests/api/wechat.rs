//! WeChat mini-program sign-in against a local server speaking WeChat's documented
//! `jscode2session` protocol, then member self-service.

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::json;

use crate::helpers::*;
use crate::members::decode_qr;
use crate::on_both_backends;

pub const APPID: &str = "wx-test-app";
pub const SECRET: &str = "wx-test-secret";

/// `GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`, answered as
/// WeChat does: HTTP 200 with either the session or an `errcode` (and a text/plain content type).
async fn jscode2session(
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    let body = if param("appid") != APPID
        || param("secret") != SECRET
        || param("grant_type") != "authorization_code"
    {
        json!({"errcode": 40013, "errmsg": "invalid appid"})
    } else {
        match param("js_code") {
            "bad" => json!({"errcode": 40029, "errmsg": "invalid code"}),
            "used" => json!({"errcode": 40163, "errmsg": "code been used"}),
            "limited" => json!({"errcode": 45011, "errmsg": "api minute-quota reach limit"}),
            "busy" => json!({"errcode": -1, "errmsg": "system error"}),
            code => match code.strip_prefix("code-") {
                Some(openid) => {
                    json!({"openid": openid, "session_key": "c2Vzc2lvbg==", "unionid": format!("u-{openid}")})
                }
                None => json!({"errcode": 40029, "errmsg": "invalid code"}),
            },
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(body.to_string())
}

pub async fn spawn_wechat() -> String {
    let server =
        HttpServer::new(|| App::new().route("/sns/jscode2session", web::get().to(jscode2session)))
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

pub async fn wechat_app(backend: Backend) -> TestApp {
    let base = spawn_wechat().await;
    spawn_app_with(backend, move |settings| {
        settings.wechat_api_base = base;
        settings.wechat_appid = APPID.into();
        settings.wechat_secret = SECRET.into();
    })
    .await
}

pub async fn post_public(app: &TestApp, path: &str, body: serde_json::Value) -> Reply {
    read(
        app.client
            .post(app.url(path))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

on_both_backends!(
    a_volunteer_binds_wechat_once_then_signs_in_and_sees_their_points,
    |backend| async move {
        let app = wechat_app(backend).await;
        let village = app.village().await;
        let org_id = app
            .get(&format!("/api/v1/banks/{}", village.bank))
            .await
            .ok(200)["org_id"]
            .clone();
        let member = app
            .post(
                "/api/v1/members",
                json!({"org_id": org_id, "name": "刘芳", "phone": "13912345678"}),
            )
            .await;
        let member = member.ok(201).clone();
        let wallet = member["wallets"][0]["id"].as_i64().unwrap();
        app.award(&village, wallet, "15").await.ok(201);

        let first = post_public(
            &app,
            "/api/v1/auth/wechat",
            json!({"code": "code-openid-1"}),
        )
        .await;
        let first = first.ok(200).clone();
        assert_eq!(first["status"], "binding_required");
        let ticket = first["binding_ticket"].as_str().unwrap();

        let wrong = post_public(
            &app,
            "/api/v1/auth/wechat/bind",
            json!({"binding_ticket": ticket, "phone": "13912345678", "name": "别人"}),
        )
        .await;
        wrong.problem(422, "binding_refused");
        let bound = post_public(
            &app,
            "/api/v1/auth/wechat/bind",
            json!({"binding_ticket": ticket, "phone": "13912345678", "name": "刘芳"}),
        )
        .await;
        let bound = bound.ok(200).clone();
        assert_eq!(bound["status"], "signed_in");
        assert_eq!(bound["member_id"], member["id"]);
        let reused = post_public(
            &app,
            "/api/v1/auth/wechat/bind",
            json!({"binding_ticket": ticket, "phone": "13912345678", "name": "刘芳"}),
        )
        .await;
        reused.problem(401, "unauthorized");

        // Next launch of the mini-program: wx.login, and straight in.
        let again = post_public(
            &app,
            "/api/v1/auth/wechat",
            json!({"code": "code-openid-1"}),
        )
        .await;
        let again = again.ok(200).clone();
        assert_eq!(again["status"], "signed_in");
        let token = again["access_token"].as_str().unwrap().to_string();

        let me = read(
            app.client
                .get(app.url("/api/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let me = me.ok(200).clone();
        assert_eq!(me["name"], "刘芳");
        assert_eq!(me["phone"], "139****5678");
        assert_eq!(me["wallets"][0]["balance"], "15.00");
        let statement = read(
            app.client
                .get(app.url("/api/v1/me/statement"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let statement = statement.ok(200).clone();
        assert_eq!(statement["items"][0]["amount"], "15.00");
        assert_eq!(statement["items"][0]["memo"], "巡河");
        let hours = read(
            app.client
                .get(app.url("/api/v1/me/statement?asset=HOURS"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(hours.ok(200)["items"].as_array().unwrap().len(), 0);

        let export = app
            .client
            .get(app.url("/api/v1/me/export"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        let export: serde_json::Value = export.json().await.unwrap();
        assert_eq!(export["member"]["name"], "刘芳");
        assert_eq!(export["wechat_bound"], true);
        assert_eq!(export["statements"][0]["items"][0]["amount"], "15.00");
        assert!(
            !export.to_string().contains("13912345678"),
            "the export masks like every response"
        );
        let card = app
            .client
            .get(app.url("/api/v1/me/card"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let scanned = decode_qr(&card.bytes().await.unwrap());
        assert_eq!(
            app.post("/api/v1/members/lookup", json!({"card": scanned}))
                .await
                .ok(200)["id"],
            member["id"]
        );

        // Member and staff tokens open only their own doors.
        let staff_door = read(
            app.client
                .get(app.url("/api/v1/banks"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        staff_door.problem(403, "forbidden");
        app.get("/api/v1/me").await.problem(403, "forbidden");

        // A second WeChat user cannot take over a bound member.
        let other = post_public(
            &app,
            "/api/v1/auth/wechat",
            json!({"code": "code-openid-2"}),
        )
        .await;
        let other_ticket = other.ok(200)["binding_ticket"].clone();
        post_public(
            &app,
            "/api/v1/auth/wechat/bind",
            json!({"binding_ticket": other_ticket, "phone": "13912345678", "name": "刘芳"}),
        )
        .await
        .problem(409, "already_exists");
    }
);

on_both_backends!(wechat_errors_become_clear_problems, |backend| async move {
    let app = wechat_app(backend).await;
    let login =
        |code: &'static str| post_public(&app, "/api/v1/auth/wechat", json!({"code": code}));
    login("bad").await.problem(401, "wechat_code_invalid");
    login("used").await.problem(401, "wechat_code_invalid");
    let limited = login("limited").await;
    limited.problem(429, "wechat_rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    let busy = login("busy").await;
    busy.problem(503, "wechat_busy");
    assert!(busy.headers.contains_key("retry-after"));
    login("").await.problem(422, "validation_failed");

    let misconfigured = spawn_app_with(backend, |settings| {
        settings.wechat_api_base = "http://127.0.0.1:9".into();
        settings.wechat_appid = APPID.into();
        settings.wechat_secret = SECRET.into();
    })
    .await;
    post_public(
        &misconfigured,
        "/api/v1/auth/wechat",
        json!({"code": "code-x"}),
    )
    .await
    .problem(502, "wechat_unavailable");
});
