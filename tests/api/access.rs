//! Role and scope checks on every ledger endpoint: a village's staff never reach another
//! village's book, and each role does only its own work.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;

pub const PASSWORD: &str = "staff-password-1";

struct Book {
    bank: i64,
    issuance: i64,
    wallet: i64,
    entry: i64,
    hold: i64,
    org: i64,
}

pub async fn org(app: &TestApp, code: &str, kind: &str, parent: Option<i64>) -> i64 {
    let reply = app
        .post(
            "/api/v1/orgs",
            json!({"code": code, "name": code, "kind": kind, "parent_id": parent}),
        )
        .await;
    reply.ok(201)["id"].as_i64().unwrap()
}

async fn book(app: &TestApp, org_id: i64) -> Book {
    let bank = app
        .post("/api/v1/banks", json!({"org_id": org_id, "name": "bank"}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let issuance = app.system_account(bank, "POINTS", "issuance").await;
    let village = Village { bank, issuance };
    let wallet = app.wallet(&village, "村民").await;
    let entry = app.award(&village, wallet, "100").await.ok(201)["id"]
        .as_i64()
        .unwrap();
    let hold = app
        .post(
            &format!("/api/v1/banks/{bank}/holds"),
            json!({"account_id": wallet, "amount": "1", "memo": "m"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    Book {
        bank,
        issuance,
        wallet,
        entry,
        hold,
        org: org_id,
    }
}

/// Creates a staff member with one grant and returns their access token.
pub async fn staff_token(app: &TestApp, phone: &str, role: &str, org_id: i64) -> String {
    let created = app
        .post(
            "/api/v1/staff",
            json!({"phone": phone, "name": role, "password": PASSWORD}),
        )
        .await;
    let id = created.ok(201)["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/staff/{id}/grants"),
        json!({"role": role, "org_id": org_id}),
    )
    .await
    .ok(201);
    let reply = read(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"phone": phone, "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.ok(200)["access_token"].as_str().unwrap().to_string()
}

/// Every endpoint that touches a bank, as (name, method, path, body).
fn operations(b: &Book) -> Vec<(&'static str, &'static str, String, Value)> {
    let bank = b.bank;
    let base = format!("/api/v1/banks/{bank}");
    vec![
        ("get bank", "GET", base.clone(), Value::Null),
        (
            "list accounts",
            "GET",
            format!("{base}/accounts"),
            Value::Null,
        ),
        (
            "get account",
            "GET",
            format!("{base}/accounts/{}", b.wallet),
            Value::Null,
        ),
        (
            "statement",
            "GET",
            format!("{base}/accounts/{}/statement", b.wallet),
            Value::Null,
        ),
        (
            "get entry",
            "GET",
            format!("{base}/entries/{}", b.entry),
            Value::Null,
        ),
        (
            "get hold",
            "GET",
            format!("{base}/holds/{}", b.hold),
            Value::Null,
        ),
        ("verify", "GET", format!("{base}/verify"), Value::Null),
        (
            "open account",
            "POST",
            format!("{base}/accounts"),
            json!({"asset": "POINTS", "name": "新村民"}),
        ),
        (
            "post entry",
            "POST",
            format!("{base}/entries"),
            json!({"kind": "award", "memo": "m", "postings": [
                {"account_id": b.issuance, "amount": "-1"}, {"account_id": b.wallet, "amount": "1"}]}),
        ),
        (
            "reverse entry",
            "POST",
            format!("{base}/entries/{}/reversal", b.entry),
            json!({"memo": "m"}),
        ),
        (
            "place hold",
            "POST",
            format!("{base}/holds"),
            json!({"account_id": b.wallet, "amount": "1", "memo": "m"}),
        ),
        (
            "capture hold",
            "POST",
            format!("{base}/holds/{}/capture", b.hold),
            json!({"memo": "m"}),
        ),
        (
            "release hold",
            "POST",
            format!("{base}/holds/{}/release", b.hold),
            json!({}),
        ),
        (
            "create bank",
            "POST",
            "/api/v1/banks".into(),
            json!({"org_id": b.org, "name": "second book"}),
        ),
        (
            "create unit",
            "POST",
            "/api/v1/orgs".into(),
            json!({"code": format!("grid-{bank}-{}", uuid::Uuid::new_v4().simple()), "name": "网格", "kind": "grid", "parent_id": b.org}),
        ),
    ]
}

/// Which operations each village-level role may do in its own village (explicit, not derived).
fn allowed_in_own_village(role: &str, operation: &str) -> bool {
    let reads = [
        "get bank",
        "list accounts",
        "get account",
        "statement",
        "get entry",
        "get hold",
        "verify",
    ];
    match role {
        "org_admin" => true,
        "auditor" => reads.contains(&operation),
        "clerk" => {
            reads.contains(&operation)
                || ["place hold", "capture hold", "release hold"].contains(&operation)
        }
        "organiser" => reads.contains(&operation) || operation == "open account",
        other => panic!("unknown role {other}"),
    }
}

pub async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: &Value) -> Reply {
    let request = match method {
        "GET" => app.client.get(app.url(path)),
        "DELETE" => app.client.delete(app.url(path)),
        _ => app.client.post(app.url(path)).json(body),
    };
    read(request.bearer_auth(token).send().await.unwrap()).await
}

on_both_backends!(
    every_role_reaches_only_its_own_work_in_its_own_subtree,
    |backend| async move {
        let app = spawn_app(backend).await;
        let township = org(&app, "T", "township", None).await;
        let village_a = org(&app, "A", "village", Some(township)).await;
        let village_b = org(&app, "B", "village", Some(township)).await;
        let (a, b) = (book(&app, village_a).await, book(&app, village_b).await);

        let mut staff = Vec::new();
        for (i, role) in ["org_admin", "organiser", "clerk", "auditor"]
            .into_iter()
            .enumerate()
        {
            let token = staff_token(&app, &format!("1370000000{i}"), role, village_a).await;
            staff.push((role, token));
        }
        let township_admin = staff_token(&app, "13700000009", "org_admin", township).await;

        for (role, token) in &staff {
            for (book, own) in [(&a, true), (&b, false)] {
                for (operation, method, path, body) in operations(book) {
                    let reply = call(&app, token, method, &path, &body).await;
                    let expected = own && allowed_in_own_village(role, operation);
                    if expected {
                        assert!(
                            reply.status.as_u16() < 500
                                && ![401, 403].contains(&reply.status.as_u16()),
                            "{role} in own village should be able to {operation}: {} {}",
                            reply.status,
                            reply.body
                        );
                    } else if own {
                        reply.problem(403, "forbidden");
                    } else {
                        // Another village's book answers like a missing one.
                        reply.problem(404, "not_found");
                    }
                }
            }
        }
        // The township's administrator covers both villages.
        for book in [&a, &b] {
            for (operation, method, path, body) in operations(book) {
                let reply = call(&app, &township_admin, method, &path, &body).await;
                assert!(
                    ![401, 403].contains(&reply.status.as_u16()) && reply.status.as_u16() < 500,
                    "township admin {operation}: {}",
                    reply.body
                );
            }
        }

        // Lists show only what is in scope.
        let village_admin = &staff[0].1;
        let banks = call(&app, village_admin, "GET", "/api/v1/banks", &Value::Null).await;
        let bank_ids: Vec<i64> = banks
            .ok(200)
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["org_id"].as_i64().unwrap())
            .collect();
        assert!(
            bank_ids.iter().all(|org| *org == village_a) && !bank_ids.is_empty(),
            "{bank_ids:?}"
        );
        let orgs = call(&app, village_admin, "GET", "/api/v1/orgs", &Value::Null).await;
        let org_ids: Vec<i64> = orgs
            .ok(200)
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert!(
            org_ids.contains(&village_a)
                && !org_ids.contains(&village_b)
                && !org_ids.contains(&township)
        );

        // Village B's book saw only the township admin's award and reversal (100 + 1 − 100, minus
        // the township admin's capture of the 1-point hold), none of village A's staff's attempts.
        let b_wallet = app
            .get(&format!("/api/v1/banks/{}/accounts/{}", b.bank, b.wallet))
            .await;
        let b_wallet = b_wallet.ok(200);
        assert_eq!(b_wallet["balance"], "0.00", "{b_wallet}");
        let report = app.get(&format!("/api/v1/banks/{}/verify", b.bank)).await;
        assert_eq!(report.ok(200)["ok"], true);
    }
);

on_both_backends!(
    staff_grants_stay_inside_the_granters_scope,
    |backend| async move {
        let app = spawn_app(backend).await;
        let township = org(&app, "T", "township", None).await;
        let village_a = org(&app, "A", "village", Some(township)).await;
        let village_b = org(&app, "B", "village", Some(township)).await;
        let admin_a = staff_token(&app, "13600000001", "org_admin", village_a).await;

        let created = call(
            &app,
            &admin_a,
            "POST",
            "/api/v1/staff",
            &json!({"phone": "13600000002", "name": "新人", "password": PASSWORD}),
        )
        .await;
        let new_id = created.ok(201)["id"].as_i64().unwrap();
        assert_eq!(created.body["phone"], "136****0002", "phones are masked");
        let grants = format!("/api/v1/staff/{new_id}/grants");
        call(
            &app,
            &admin_a,
            "POST",
            &grants,
            &json!({"role": "clerk", "org_id": village_a}),
        )
        .await
        .ok(201);
        // Refused: outside the granter's village, above it, platform-wide, or malformed.
        for (body, status, code) in [
            (
                json!({"role": "clerk", "org_id": village_b}),
                404,
                "not_found",
            ),
            (
                json!({"role": "org_admin", "org_id": township}),
                403,
                "forbidden",
            ),
            (json!({"role": "platform_admin"}), 403, "forbidden"),
            (
                json!({"role": "mayor", "org_id": village_a}),
                422,
                "validation_failed",
            ),
        ] {
            call(&app, &admin_a, "POST", &grants, &body)
                .await
                .problem(status, code);
        }
        let bad_phone = call(
            &app,
            &admin_a,
            "POST",
            "/api/v1/staff",
            &json!({"phone": "12345", "name": "x", "password": PASSWORD}),
        )
        .await;
        assert_eq!(
            bad_phone.problem(422, "validation_failed")["field"],
            "phone"
        );

        let listed = call(&app, &admin_a, "GET", "/api/v1/staff", &Value::Null).await;
        let listed = listed.ok(200).as_array().unwrap().clone();
        let newcomer = listed
            .iter()
            .find(|s| s["id"] == new_id)
            .expect("the new clerk is listed");
        let grant_id = newcomer["grants"][0]["id"].as_i64().unwrap();
        let revoke = format!("/api/v1/staff/{new_id}/grants/{grant_id}/revoke");
        let revoked = call(&app, &admin_a, "POST", &revoke, &Value::Null).await;
        assert_eq!(revoked.ok(200)["grants"].as_array().unwrap().len(), 0);
        call(&app, &admin_a, "POST", &revoke, &Value::Null)
            .await
            .problem(404, "not_found");
    }
);

on_both_backends!(
    moving_a_unit_moves_its_subtree_and_keeps_its_books,
    |backend| async move {
        let app = spawn_app(backend).await;
        let township = org(&app, "T", "township", None).await;
        let village_a = org(&app, "A", "village", Some(township)).await;
        let village_b = org(&app, "B", "village", Some(township)).await;
        let grid = org(&app, "G", "grid", Some(village_a)).await;
        let building = org(&app, "H", "building", Some(grid)).await;
        let admin_b = staff_token(&app, "13500000001", "org_admin", village_b).await;

        // A grid cannot sit above a village, and a unit cannot move below itself.
        app.post(
            &format!("/api/v1/orgs/{village_a}/move"),
            json!({"parent_id": grid}),
        )
        .await
        .problem(422, "validation_failed");
        app.post(
            &format!("/api/v1/orgs/{grid}/move"),
            json!({"parent_id": building}),
        )
        .await
        .problem(422, "validation_failed");

        let moved = app
            .post(
                &format!("/api/v1/orgs/{grid}/move"),
                json!({"parent_id": village_b}),
            )
            .await;
        let moved = moved.ok(200);
        assert_eq!(moved["parent_id"], village_b);
        assert_eq!(moved["path"], format!("/{township}/{village_b}/{grid}/"));
        let orgs = call(&app, &admin_b, "GET", "/api/v1/orgs", &Value::Null).await;
        let paths: Vec<String> = orgs
            .ok(200)
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["path"].as_str().unwrap().to_string())
            .collect();
        assert!(
            paths.contains(&format!("/{township}/{village_b}/{grid}/{building}/")),
            "{paths:?}"
        );
    }
);

on_both_backends!(
    the_last_platform_admin_cannot_be_revoked_and_granting_twice_changes_nothing,
    |backend| async move {
        let app = spawn_app(backend).await;
        let staff = app.get("/api/v1/staff").await;
        let admin = staff
            .ok(200)
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "Test Admin")
            .unwrap()
            .clone();
        let admin_id = admin["id"].as_i64().unwrap();
        let grant_id = admin["grants"][0]["id"].as_i64().unwrap();
        let revoke = format!("/api/v1/staff/{admin_id}/grants/{grant_id}/revoke");
        app.post(&revoke, json!({}))
            .await
            .problem(409, "last_admin");

        // Granting what is held already: the same grant back, no copy.
        let grants = format!("/api/v1/staff/{admin_id}/grants");
        for _ in 0..3 {
            let again = app.post(&grants, json!({"role": "platform_admin"})).await;
            let again = again.ok(200);
            assert_eq!(again["grants"].as_array().unwrap().len(), 1, "{again}");
            assert_eq!(again["grants"][0]["id"], grant_id);
        }
        let village = org(&app, "V1", "village", None).await;
        let clerk_grant = json!({"role": "clerk", "org_id": village});
        app.post(&grants, clerk_grant.clone()).await.ok(201);
        let twice = app.post(&grants, clerk_grant).await;
        assert_eq!(twice.ok(200)["grants"].as_array().unwrap().len(), 2);

        // With a second administrator, either may step down, but not both.
        let created = app
            .post(
                "/api/v1/staff",
                json!({"phone": "13911112222", "name": "Second Admin", "password": PASSWORD}),
            )
            .await;
        let second_id = created.ok(201)["id"].as_i64().unwrap();
        let second = app
            .post(
                &format!("/api/v1/staff/{second_id}/grants"),
                json!({"role": "platform_admin"}),
            )
            .await;
        let second_grant = second.ok(201)["grants"][0]["id"].as_i64().unwrap();
        let second_revoke = format!("/api/v1/staff/{second_id}/grants/{second_grant}/revoke");
        let (first, other) = tokio::join!(
            app.post(&revoke, json!({})),
            app.post(&second_revoke, json!({}))
        );
        let outcomes = [first.status.as_u16(), other.status.as_u16()];
        assert!(
            outcomes.contains(&200) && outcomes.contains(&409),
            "{outcomes:?}"
        );
    }
);
