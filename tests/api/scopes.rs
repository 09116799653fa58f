//! Rules, awards, claims, shops and the counter are scoped like the ledger: each role does only
//! its own work, and nobody reaches another village's rules, shop or orders by guessing ids.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;

struct World {
    rule: i64,
    shop: i64,
    goods: i64,
    member: TestMember,
}

async fn world(app: &TestApp, village: &Village) -> World {
    let rule = app
        .post(
            &format!("/api/v1/banks/{}/rules", village.bank),
            json!({"code": "V1", "name": "巡河", "category": "volunteer_service", "default_points": "50"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let shop = app
        .post(
            "/api/v1/shops",
            json!({"org_id": app.org_of(village).await, "name": "超市", "address": "村委会"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let goods = app
        .post(
            &format!("/api/v1/shops/{shop}/goods"),
            json!({"name": "肥皂", "category": "日用品", "price": "5"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/goods/{goods}/stock-movements"),
        json!({"kind": "stock_in", "quantity": 50}),
    )
    .await
    .ok(201);
    let member = app.member(village, "张三").await;
    app.post(
        &format!("/api/v1/banks/{}/awards", village.bank),
        json!({"rule_id": rule, "member_ids": [member.id]}),
    )
    .await
    .ok(201);
    World {
        rule,
        shop,
        goods,
        member,
    }
}

/// (method, path, body) of every scoped write in the world of one village.
fn calls(village: &Village, w: &World) -> Vec<(&'static str, String, Value)> {
    vec![
        (
            "POST",
            format!("/api/v1/banks/{}/rules", village.bank),
            json!({"code": format!("X{}", rand_digits()), "name": "x", "category": "other", "default_points": "1"}),
        ),
        (
            "POST",
            format!("/api/v1/banks/{}/awards", village.bank),
            json!({"rule_id": w.rule, "member_ids": [w.member.id]}),
        ),
        (
            "GET",
            format!("/api/v1/banks/{}/claims", village.bank),
            json!({}),
        ),
        (
            "POST",
            format!("/api/v1/shops/{}/goods", w.shop),
            json!({"name": "毛巾", "category": "日用品", "price": "5"}),
        ),
        (
            "POST",
            format!("/api/v1/goods/{}/stock-movements", w.goods),
            json!({"kind": "stock_in", "quantity": 1}),
        ),
        (
            "POST",
            format!("/api/v1/shops/{}/orders", w.shop),
            json!({"card": w.member.card_number, "lines": [{"goods_id": w.goods, "quantity": 1}]}),
        ),
        ("GET", format!("/api/v1/shops/{}/orders", w.shop), json!({})),
        (
            "GET",
            format!("/api/v1/shops/{}/day-report", w.shop),
            json!({}),
        ),
    ]
}

on_both_backends!(
    each_role_reaches_only_its_own_villages_rules_awards_and_shop,
    |backend| async move {
        let app = spawn_app(backend).await;
        let here = app.village().await;
        let there = app.village().await;
        let world_here = world(&app, &here).await;
        let org = app.org_of(&here).await;
        let other_org = app.org_of(&there).await;
        // Expected status per role for: create rule, award, read claims, add goods, stock in,
        // counter order, read orders, day report.
        let table: [(&str, i64, [u16; 8]); 5] = [
            ("org_admin", org, [201, 201, 200, 201, 201, 201, 200, 200]),
            ("clerk", org, [403, 403, 200, 201, 201, 201, 200, 200]),
            ("organiser", org, [403, 403, 200, 403, 403, 403, 200, 200]),
            ("auditor", org, [403, 403, 200, 403, 403, 403, 200, 200]),
            (
                "org_admin",
                other_org,
                // Another village's records answer like missing ones.
                [404, 404, 404, 404, 404, 404, 404, 404],
            ),
        ];
        for (role, unit, expected) in table {
            let token = app.staff_with_role(role, unit).await;
            for ((method, path, body), status) in
                calls(&here, &world_here).into_iter().zip(expected)
            {
                let reply = app.send_as(&token, method, &path, Some(body)).await;
                assert_eq!(
                    reply.status.as_u16(),
                    status,
                    "{role} on {unit}: {method} {path}: {}",
                    reply.body
                );
                if status == 403 {
                    reply.problem(403, "forbidden");
                }
            }
        }
        // A member of another village cannot order from this shop or see its goods.
        let stranger = app.member(&there, "李四").await;
        let browse = app
            .send_as(
                &stranger.token,
                "GET",
                &format!("/api/v1/me/shops/{}/goods", world_here.shop),
                None,
            )
            .await;
        browse.problem(404, "not_found");
    }
);
