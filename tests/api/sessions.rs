//! Sign-in sessions: rotating refresh tokens with reuse detection, sign-out, password change,
//! and rate-limited sign-in.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;

async fn sign_in(app: &TestApp, phone: &str, password: &str) -> Reply {
    read(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"phone": phone, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn refresh(app: &TestApp, token: &Value) -> Reply {
    read(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": token}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

on_both_backends!(
    a_refresh_token_works_once_and_its_reuse_ends_the_session,
    |backend| async move {
        let app = spawn_app(backend).await;
        let first = sign_in(&app, ADMIN_PHONE, ADMIN_PASSWORD).await;
        let first = first.ok(200).clone();
        assert!(first["refresh_token"].as_str().unwrap().starts_with("rt_"));

        let second = refresh(&app, &first["refresh_token"]).await;
        let second = second.ok(200).clone();
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        let access = second["access_token"].as_str().unwrap();
        let banks = read(
            app.client
                .get(app.url("/api/v1/banks"))
                .bearer_auth(access)
                .send()
                .await
                .unwrap(),
        )
        .await;
        banks.ok(200);

        // Someone replays the first (spent) token: the whole sign-in is ended.
        refresh(&app, &first["refresh_token"])
            .await
            .problem(401, "refresh_token_reused");
        refresh(&app, &second["refresh_token"])
            .await
            .problem(401, "invalid_refresh_token");
        refresh(&app, &json!("rt_not-a-token"))
            .await
            .problem(401, "invalid_refresh_token");

        // Another sign-in is its own family and unaffected.
        let other = sign_in(&app, ADMIN_PHONE, ADMIN_PASSWORD).await;
        refresh(&app, &other.ok(200)["refresh_token"]).await.ok(200);
    }
);

on_both_backends!(
    refreshing_picks_up_new_roles_and_sign_out_ends_the_session,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let created = app
            .post(
                "/api/v1/staff",
                json!({"phone": "13400000001", "name": "店员", "password": "clerk-password"}),
            )
            .await;
        let clerk_id = created.ok(201)["id"].as_i64().unwrap();
        let session = sign_in(&app, "13400000001", "clerk-password")
            .await
            .ok(200)
            .clone();
        let bank_path = format!("/api/v1/banks/{}", village.bank);
        let with = |token: &str| {
            app.client
                .get(app.url(&bank_path))
                .bearer_auth(token.to_string())
                .send()
        };
        read(
            with(session["access_token"].as_str().unwrap())
                .await
                .unwrap(),
        )
        .await
        // Without a role no unit is theirs: the bank answers as if it did not exist.
        .problem(404, "not_found");

        let bank = app.get(&bank_path).await.ok(200).clone();
        app.post(
            &format!("/api/v1/staff/{clerk_id}/grants"),
            json!({"role": "clerk", "org_id": bank["org_id"]}),
        )
        .await
        .ok(201);
        let renewed = refresh(&app, &session["refresh_token"])
            .await
            .ok(200)
            .clone();
        read(
            with(renewed["access_token"].as_str().unwrap())
                .await
                .unwrap(),
        )
        .await
        .ok(200);

        let logout = app
            .client
            .post(app.url("/api/v1/auth/logout"))
            .json(&json!({"refresh_token": renewed["refresh_token"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 204);
        refresh(&app, &renewed["refresh_token"])
            .await
            .problem(401, "invalid_refresh_token");
    }
);

on_both_backends!(
    changing_the_password_ends_every_session,
    |backend| async move {
        let app = spawn_app(backend).await;
        let session = sign_in(&app, ADMIN_PHONE, ADMIN_PASSWORD)
            .await
            .ok(200)
            .clone();
        let change = |current: &str, new: &str| {
            app.client
                .post(app.url("/api/v1/auth/password"))
                .bearer_auth(&app.token)
                .json(&json!({"current_password": current, "new_password": new}))
                .send()
        };
        read(change("wrong-password", "new-password-1").await.unwrap())
            .await
            .problem(401, "invalid_credentials");
        read(change(ADMIN_PASSWORD, "short").await.unwrap())
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            change(ADMIN_PASSWORD, "new-password-1")
                .await
                .unwrap()
                .status(),
            204
        );

        refresh(&app, &session["refresh_token"])
            .await
            .problem(401, "invalid_refresh_token");
        sign_in(&app, ADMIN_PHONE, ADMIN_PASSWORD)
            .await
            .problem(401, "invalid_credentials");
        sign_in(&app, ADMIN_PHONE, "new-password-1").await.ok(200);
    }
);

on_both_backends!(
    repeated_failed_sign_ins_are_throttled_per_phone_and_per_address,
    |backend| async move {
        let app = spawn_app_with(backend, |settings| settings.login_max_failures_per_ip = 8).await;
        for _ in 0..5 {
            sign_in(&app, ADMIN_PHONE, "guess-password")
                .await
                .problem(401, "invalid_credentials");
        }
        // Even the right password waits now: the phone is locked for the window.
        let locked = sign_in(&app, ADMIN_PHONE, ADMIN_PASSWORD).await;
        locked.problem(429, "too_many_attempts");
        let retry_after: u64 = locked.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry_after), "{retry_after}");

        // Another phone from the same address still gets its answer until the address limit (8).
        for i in 0..3 {
            sign_in(&app, &format!("1330000000{i}"), "guess-password")
                .await
                .problem(401, "invalid_credentials");
        }
        sign_in(&app, "13300000009", "guess-password")
            .await
            .problem(429, "too_many_attempts");
    }
);

on_both_backends!(
    two_hundred_concurrent_wrong_passwords_on_two_instances_get_exactly_the_limit_checked,
    |backend| async move {
        let app = spawn_app(backend).await;
        let other = app.second_instance(|_| {});
        let bases = [app.base.clone(), other.base.clone()];
        let attempts = (0..200).map(|index| {
            let client = app.client.clone();
            let base = bases[index % 2].clone();
            async move {
                read(
                    client
                        .post(format!("{base}/api/v1/auth/login"))
                        .json(&serde_json::json!({"phone": ADMIN_PHONE, "password": "guess-password"}))
                        .send()
                        .await
                        .expect("login request"),
                )
                .await
            }
        });
        let replies = futures_util::future::join_all(attempts).await;
        let checked = replies.iter().filter(|r| r.status == 401).count();
        let throttled = replies.iter().filter(|r| r.status == 429).count();
        // The documented limit: 5 failures per phone number in the window.
        assert_eq!((checked, throttled), (5, 195));
        sign_in(&app, ADMIN_PHONE, ADMIN_PASSWORD)
            .await
            .problem(429, "too_many_attempts");
    }
);
