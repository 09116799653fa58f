//! The points supermarket: goods and stock, orders that hold points and reserve goods, pickup by
//! QR (read back with a real decoder), cancellation, expiry, counter sales, and contention.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::members::decode_qr;
use crate::on_both_backends;

pub(crate) struct Shop {
    pub(crate) id: i64,
}

pub(crate) async fn shop(app: &TestApp, village: &Village, extra: Value) -> Shop {
    let mut body = json!({"org_id": app.org_of(village).await, "name": "青山村积分超市", "address": "村委会一楼"});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    Shop {
        id: app.post("/api/v1/shops", body).await.ok(201)["id"]
            .as_i64()
            .unwrap(),
    }
}

/// Goods with `stock` items stocked in.
pub(crate) async fn goods(
    app: &TestApp,
    shop: &Shop,
    name: &str,
    price: &str,
    stock: i64,
    extra: Value,
) -> i64 {
    let mut body = json!({"name": name, "category": "日用品", "price": price});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let id = app
        .post(&format!("/api/v1/shops/{}/goods", shop.id), body)
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    if stock > 0 {
        app.post(
            &format!("/api/v1/goods/{id}/stock-movements"),
            json!({"kind": "stock_in", "quantity": stock, "note": "进货"}),
        )
        .await
        .ok(201);
    }
    id
}

/// Members with `points` each, awarded under a rule in one batch.
pub(crate) async fn members_with_points(
    app: &TestApp,
    village: &Village,
    count: usize,
    points: &str,
) -> Vec<TestMember> {
    let rule = app
        .post(
            &format!("/api/v1/banks/{}/rules", village.bank),
            json!({"code": format!("R{}", rand_digits()), "name": "志愿服务", "category": "volunteer_service", "default_points": points}),
        )
        .await;
    let rule_id = rule.ok(201)["id"].as_i64().unwrap();
    let mut members = Vec::new();
    for i in 0..count {
        members.push(app.member(village, &format!("村民{i}")).await);
    }
    for chunk in members.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|m| m.id).collect();
        app.post(
            &format!("/api/v1/banks/{}/awards", village.bank),
            json!({"rule_id": rule_id, "member_ids": ids}),
        )
        .await
        .ok(201);
    }
    members
}

pub(crate) async fn order(app: &TestApp, member: &TestMember, shop: &Shop, lines: Value) -> Reply {
    app.send_as(
        &member.token,
        "POST",
        "/api/v1/me/orders",
        Some(json!({"shop_id": shop.id, "lines": lines})),
    )
    .await
}

pub(crate) async fn goods_state(app: &TestApp, shop: &Shop, goods_id: i64) -> Value {
    let list = app.get(&format!("/api/v1/shops/{}/goods", shop.id)).await;
    list.ok(200)
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == goods_id)
        .unwrap()
        .clone()
}

async fn pickup(app: &TestApp, shop: &Shop, scanned: &str) -> Reply {
    app.post(
        &format!("/api/v1/shops/{}/pickups", shop.id),
        json!({"pickup": scanned}),
    )
    .await
}

on_both_backends!(
    a_member_orders_picks_up_by_qr_and_sees_the_redemption_on_the_statement,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let shop = shop(&app, &village, json!({})).await;
        let soap = goods(&app, &shop, "洗衣液", "30", 10, json!({})).await;
        let donated = app
            .post(&format!("/api/v1/goods/{soap}/stock-movements"),
                json!({"kind": "donation", "quantity": 5, "donor_name": "青山农业合作社", "donor_value": "150"}))
            .await;
        assert_eq!(donated.ok(201)["donor_value"], "150.00");
        let member = members_with_points(&app, &village, 1, "100")
            .await
            .remove(0);

        let browse = app
            .send_as(
                &member.token,
                "GET",
                &format!("/api/v1/me/shops/{}/goods", shop.id),
                None,
            )
            .await;
        assert_eq!(browse.ok(200)[0]["available"], 15);
        let placed = order(
            &app,
            &member,
            &shop,
            json!([{"goods_id": soap, "quantity": 2}]),
        )
        .await;
        let placed = placed.ok(201).clone();
        assert_eq!(placed["status"], "pending");
        assert_eq!(placed["total_points"], "60.00");
        assert_eq!(app.account(&village, member.points).await["held"], "60.00");
        assert_eq!(goods_state(&app, &shop, soap).await["reserved"], 2);

        let png = app
            .client
            .get(app.url(&format!("/api/v1/me/orders/{}/pickup-qr", placed["id"])))
            .bearer_auth(&member.token)
            .send()
            .await
            .unwrap();
        let scanned = decode_qr(&png.bytes().await.unwrap());
        let handed = pickup(&app, &shop, &scanned).await;
        let handed = handed.ok(200).clone();
        assert_eq!(handed["order"]["status"], "fulfilled");
        assert_eq!(handed["entry"]["kind"], "redeem");
        pickup(&app, &shop, &scanned)
            .await
            .problem(409, "order_not_pending");

        assert_eq!(app.wallet_balance(&village, member.points).await, "40.00");
        assert_eq!(app.account(&village, member.points).await["held"], "0.00");
        let state = goods_state(&app, &shop, soap).await;
        assert_eq!(
            (state["stock"].as_i64(), state["reserved"].as_i64()),
            (Some(13), Some(0))
        );
        let statement = app
            .send_as(&member.token, "GET", "/api/v1/me/statement", None)
            .await;
        let line = &statement.ok(200)["items"][0];
        assert_eq!(line["kind"], "redeem");
        assert_eq!(line["origin"], "redemption");
        assert!(
            line["memo"].as_str().unwrap().contains("2 × 洗衣液"),
            "{line}"
        );
        let day = app
            .get(&format!("/api/v1/shops/{}/day-report", shop.id))
            .await;
        let day = day.ok(200);
        assert_eq!(
            (day["orders"].as_i64(), day["points"].as_str()),
            (Some(1), Some("60.00"))
        );
        assert_eq!(day["items"][0]["quantity"], 2);
        let thanks = app
            .get(&format!(
                "/api/v1/shops/{}/stock-movements?kind=donation",
                shop.id
            ))
            .await;
        assert_eq!(thanks.ok(200)[0]["donor_name"], "青山农业合作社");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    cancelling_or_expiring_an_order_gives_back_points_and_goods,
    |backend| async move {
        let app = spawn_app_with(backend, |s| s.seal_interval_ms = 100).await;
        let village = app.village().await;
        let shop = shop(&app, &village, json!({})).await;
        let oil = goods(&app, &shop, "食用油", "40", 3, json!({})).await;
        let member = members_with_points(&app, &village, 1, "100")
            .await
            .remove(0);

        let first = order(
            &app,
            &member,
            &shop,
            json!([{"goods_id": oil, "quantity": 1}]),
        )
        .await;
        let first_id = first.ok(201)["id"].as_i64().unwrap();
        let cancel = format!("/api/v1/me/orders/{first_id}");
        assert_eq!(
            app.send_as(&member.token, "DELETE", &cancel, None)
                .await
                .ok(200)["status"],
            "cancelled"
        );
        app.send_as(&member.token, "DELETE", &cancel, None)
            .await
            .problem(409, "order_not_pending");
        assert_eq!(app.account(&village, member.points).await["held"], "0.00");
        assert_eq!(goods_state(&app, &shop, oil).await["reserved"], 0);

        let second = order(
            &app,
            &member,
            &shop,
            json!([{"goods_id": oil, "quantity": 2}]),
        )
        .await;
        let second = second.ok(201).clone();
        // Time passes: the pickup deadline is over.
        app.step_past(second["expires_at"].as_str().unwrap());
        pickup(&app, &shop, second["pickup_code"].as_str().unwrap())
            .await
            .problem(409, "order_not_pending");
        let mut status = String::new();
        for _ in 0..50 {
            let mine = app
                .send_as(&member.token, "GET", "/api/v1/me/orders", None)
                .await;
            status = mine.ok(200)["items"][0]["status"]
                .as_str()
                .unwrap()
                .to_string();
            if status == "expired" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, "expired");
        assert_eq!(app.account(&village, member.points).await["held"], "0.00");
        assert_eq!(goods_state(&app, &shop, oil).await["available"], 3);
        assert_eq!(app.wallet_balance(&village, member.points).await, "100.00");
    }
);

on_both_backends!(
    three_hundred_buyers_for_the_last_ten_items_get_exactly_ten,
    |backend| async move {
        let app = Arc::new(spawn_app(backend).await);
        let village = app.village().await;
        let shop = shop(&app, &village, json!({})).await;
        let rice = goods(&app, &shop, "大米 5kg", "30", 10, json!({})).await;
        let members = members_with_points(&app, &village, 300, "30").await;
        let mut tasks = Vec::new();
        for member in members {
            let app = app.clone();
            let shop_id = shop.id;
            tasks.push(tokio::spawn(async move {
                let reply = app
                    .send_as(&member.token, "POST", "/api/v1/me/orders",
                        Some(json!({"shop_id": shop_id, "lines": [{"goods_id": rice, "quantity": 1}]})))
                    .await;
                (reply.status.as_u16(), reply.body["code"].as_str().unwrap_or("").to_string(), reply.body["pickup_code"].clone())
            }));
        }
        let mut codes = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (201, _, code) => codes.push(code.as_str().unwrap().to_string()),
                (409, code, _) => assert_eq!(code, "out_of_stock"),
                other => panic!("unexpected reply {other:?}"),
            }
        }
        assert_eq!(codes.len(), 10);
        for code in &codes {
            pickup(&app, &Shop { id: shop.id }, code).await.ok(200);
        }
        let state = goods_state(&app, &shop, rice).await;
        assert_eq!(
            (state["stock"].as_i64(), state["reserved"].as_i64()),
            (Some(0), Some(0))
        );
        let redemption = app
            .system_account(village.bank, "POINTS", "redemption")
            .await;
        assert_eq!(app.balance(&village, redemption).await, "300.00");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    fulfil_and_cancel_racing_on_one_order_end_it_exactly_once,
    |backend| async move {
        let app = Arc::new(spawn_app(backend).await);
        let village = app.village().await;
        let shop = shop(&app, &village, json!({})).await;
        let towel = goods(&app, &shop, "毛巾", "10", 5, json!({})).await;
        let member = members_with_points(&app, &village, 1, "10").await.remove(0);
        for _ in 0..5 {
            let placed = order(
                &app,
                &member,
                &shop,
                json!([{"goods_id": towel, "quantity": 1}]),
            )
            .await;
            let placed = placed.ok(201).clone();
            let (a, b) = (app.clone(), app.clone());
            let token = member.token.clone();
            let code = placed["pickup_token"].as_str().unwrap().to_string();
            let shop_id = shop.id;
            let id = placed["id"].as_i64().unwrap();
            let fulfil = tokio::spawn(async move {
                pickup(&a, &Shop { id: shop_id }, &code)
                    .await
                    .status
                    .as_u16()
            });
            let cancel = tokio::spawn(async move {
                b.send_as(&token, "DELETE", &format!("/api/v1/me/orders/{id}"), None)
                    .await
                    .status
                    .as_u16()
            });
            let outcomes = [fulfil.await.unwrap(), cancel.await.unwrap()];
            assert_eq!(
                outcomes.iter().filter(|s| **s == 200).count(),
                1,
                "{outcomes:?}"
            );
            assert!(outcomes.contains(&409), "{outcomes:?}");
            if outcomes[0] == 200 {
                // Fulfilled: the member's 10 points are spent; nothing is left to order with.
                assert_eq!(app.wallet_balance(&village, member.points).await, "0.00");
                assert_eq!(goods_state(&app, &shop, towel).await["reserved"], 0);
                app.assert_verified(&village).await;
                return;
            }
            assert_eq!(app.account(&village, member.points).await["held"], "0.00");
        }
        assert_eq!(app.wallet_balance(&village, member.points).await, "10.00");
    }
);

on_both_backends!(
    a_monthly_limit_holds_under_concurrent_orders,
    |backend| async move {
        let app = Arc::new(spawn_app(backend).await);
        let village = app.village().await;
        let shop = shop(&app, &village, json!({})).await;
        let eggs = goods(&app, &shop, "鸡蛋", "5", 100, json!({"monthly_limit": 2})).await;
        let member = members_with_points(&app, &village, 1, "100")
            .await
            .remove(0);
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let app = app.clone();
            let token = member.token.clone();
            let shop_id = shop.id;
            tasks.push(tokio::spawn(async move {
                let reply = app
                    .send_as(&token, "POST", "/api/v1/me/orders",
                        Some(json!({"shop_id": shop_id, "lines": [{"goods_id": eggs, "quantity": 1}]})))
                    .await;
                (reply.status.as_u16(), reply.body["code"].as_str().unwrap_or("").to_string())
            }));
        }
        let mut placed = 0;
        for task in tasks {
            match task.await.unwrap() {
                (201, _) => placed += 1,
                (409, code) => assert_eq!(code, "limit_exceeded"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(placed, 2);
        assert_eq!(app.account(&village, member.points).await["held"], "10.00");
    }
);

on_both_backends!(
    orders_are_refused_with_a_clear_reason,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let shop_any_day = shop(&app, &village, json!({})).await;
        let pricey = goods(&app, &shop_any_day, "电饭煲", "300", 2, json!({})).await;
        let member = members_with_points(&app, &village, 1, "100")
            .await
            .remove(0);
        order(
            &app,
            &member,
            &shop_any_day,
            json!([{"goods_id": pricey, "quantity": 1}]),
        )
        .await
        .problem(409, "insufficient_points");
        assert_eq!(
            goods_state(&app, &shop_any_day, pricey).await["reserved"],
            0,
            "nothing stays reserved"
        );
        order(
            &app,
            &member,
            &shop_any_day,
            json!([{"goods_id": pricey, "quantity": 0}]),
        )
        .await
        .problem(422, "validation_failed");

        // A shop that redeems only on a day of the month that is not today (Beijing time).
        let today = (chrono::Utc::now() + chrono::Duration::hours(8))
            .format("%d")
            .to_string();
        let other_day: i64 = if today == "01" { 2 } else { 1 };
        let monthly = shop(&app, &village, json!({"redemption_days": [other_day]})).await;
        let soap = goods(&app, &monthly, "肥皂", "5", 5, json!({})).await;
        order(
            &app,
            &member,
            &monthly,
            json!([{"goods_id": soap, "quantity": 1}]),
        )
        .await
        .problem(409, "not_available_now");

        let forged = pickup(&app, &shop_any_day, "PBO.AAAAAAAAAAAAAAAAAA").await;
        forged.problem(422, "pickup_token_invalid");
        // Stock set aside for an order cannot be written off.
        let cheap = goods(&app, &shop_any_day, "牙刷", "2", 1, json!({})).await;
        order(
            &app,
            &member,
            &shop_any_day,
            json!([{"goods_id": cheap, "quantity": 1}]),
        )
        .await
        .ok(201);
        app.post(
            &format!("/api/v1/goods/{cheap}/stock-movements"),
            json!({"kind": "write_off", "quantity": -1, "note": "破损"}),
        )
        .await
        .problem(409, "out_of_stock");
        // The most negative quantity is refused like any other out of range (found by the fuzzer:
        // its absolute value overflowed).
        app.post(
            &format!("/api/v1/goods/{cheap}/stock-movements"),
            json!({"kind": "write_off", "quantity": i64::MIN, "note": "破损"}),
        )
        .await
        .problem(422, "validation_failed");
    }
);

on_both_backends!(
    a_counter_sale_with_cash_top_up_is_one_step_and_shows_in_the_day_list,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let shop = shop(&app, &village, json!({"allows_cash_topup": true})).await;
        let kettle = goods(&app, &shop, "水壶", "30", 2, json!({})).await;
        let elderly = members_with_points(&app, &village, 1, "20").await.remove(0);
        let clerk = app
            .staff_with_role("clerk", app.org_of(&village).await)
            .await;
        let sale = app
            .send_as(
                &clerk,
                "POST",
                &format!("/api/v1/shops/{}/orders", shop.id),
                Some(json!({
                    "card": elderly.card_number, "lines": [{"goods_id": kettle, "quantity": 1}],
                    "cash_topup": {"points": "10", "cash": "10"}, "fulfil_now": true
                })),
            )
            .await;
        let sale = sale.ok(201).clone();
        assert_eq!(sale["status"], "fulfilled");
        assert_eq!(sale["on_behalf"], true);
        assert_eq!(app.wallet_balance(&village, elderly.points).await, "0.00");
        let day = app
            .send_as(
                &clerk,
                "GET",
                &format!("/api/v1/shops/{}/day-report", shop.id),
                None,
            )
            .await;
        let day = day.ok(200);
        assert_eq!(
            (day["points"].as_str(), day["cash"].as_str()),
            (Some("20.00"), Some("10.00"))
        );

        let no_cash = self::shop(&app, &village, json!({})).await;
        let cup = goods(&app, &no_cash, "杯子", "30", 2, json!({})).await;
        app.post(
            &format!("/api/v1/shops/{}/orders", no_cash.id),
            json!({
                "card": elderly.card_number, "lines": [{"goods_id": cup, "quantity": 1}],
                "cash_topup": {"points": "30", "cash": "30"}
            }),
        )
        .await
        .problem(422, "validation_failed");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    verification_catches_stock_edited_behind_the_stock_log,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let shop = shop(&app, &village, json!({})).await;
        let rice = goods(&app, &shop, "大米", "10", 5, json!({})).await;
        let member = members_with_points(&app, &village, 1, "50").await.remove(0);
        order(
            &app,
            &member,
            &shop,
            json!([{"goods_id": rice, "quantity": 2}]),
        )
        .await
        .ok(201);
        app.assert_verified(&village).await;
        {
            use diesel::prelude::*;
            let mut conn = app.pool.get().unwrap();
            diesel::sql_query(format!(
                "UPDATE goods SET stock = 50, reserved = 0 WHERE id = {rice}"
            ))
            .execute(&mut *conn)
            .unwrap();
        }
        let report = app
            .get(&format!("/api/v1/banks/{}/verify", village.bank))
            .await;
        let report = report.ok(200);
        assert_eq!(report["ok"], false);
        let checks: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["check"].as_str().unwrap())
            .collect();
        assert!(
            checks.contains(&"stock_mismatch") && checks.contains(&"reservation_mismatch"),
            "{checks:?}"
        );
    }
);
