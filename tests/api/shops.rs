//! Finding and changing shops, reading one goods item and one of my orders, and retried orders
//! that say they were replayed: what a client needs to drive a monthly redemption cycle.

use serde_json::{json, Value};

use crate::access::org;
use crate::helpers::*;
use crate::on_both_backends;
use crate::supermarket::{goods, members_with_points, order, shop, Shop};

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|shop| shop["id"].as_i64().unwrap())
        .collect()
}

/// A bank on a unit made outside `app.village()` (e.g. a township).
async fn bank_on(app: &TestApp, org_id: i64) -> Village {
    let bank = app
        .post(
            "/api/v1/banks",
            json!({"org_id": org_id, "name": "乡镇积分银行"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let issuance = app.system_account(bank, "POINTS", "issuance").await;
    Village { bank, issuance }
}

async fn my_order_with_key(app: &TestApp, member: &TestMember, body: &Value, key: &str) -> Reply {
    read(
        app.client
            .post(app.url("/api/v1/me/orders"))
            .bearer_auth(&member.token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

fn shop_path(shop: &Shop) -> String {
    format!("/api/v1/shops/{}", shop.id)
}

on_both_backends!(
    staff_list_the_shops_of_their_units_page_by_page,
    |backend| async move {
        let app = spawn_app(backend).await;
        let here = app.village().await;
        let there = app.village().await;
        let first = shop(&app, &here, json!({"redemption_days": [15, 1]})).await;
        let second = shop(&app, &here, json!({})).await;
        let foreign = shop(&app, &there, json!({})).await;
        let org_here = app.org_of(&here).await;
        let admin = app.staff_with_role("org_admin", org_here).await;
        let clerk = app.staff_with_role("clerk", org_here).await;

        for token in [&admin, &clerk] {
            let page = app.send_as(token, "GET", "/api/v1/shops", None).await;
            let page = page.ok(200);
            assert_eq!(ids(page), [first.id, second.id], "{page}");
            assert_eq!(page["next_cursor"], Value::Null);
            assert_eq!(page["items"][0]["redemption_days"], json!([1, 15]));
            assert_eq!(page["items"][0]["bank_id"], here.bank);
        }

        let one = app
            .send_as(&admin, "GET", "/api/v1/shops?limit=1", None)
            .await;
        let one = one.ok(200).clone();
        assert_eq!(ids(&one), [first.id]);
        assert_eq!(one["next_cursor"], first.id.to_string());
        let two = app
            .send_as(
                &admin,
                "GET",
                &format!("/api/v1/shops?limit=1&cursor={}", first.id),
                None,
            )
            .await;
        let two = two.ok(200).clone();
        assert_eq!(ids(&two), [second.id]);
        let cursor = two["next_cursor"].as_str().unwrap();
        let three = app
            .send_as(
                &admin,
                "GET",
                &format!("/api/v1/shops?limit=1&cursor={cursor}"),
                None,
            )
            .await;
        let three = three.ok(200);
        assert_eq!(ids(three), Vec::<i64>::new());
        assert_eq!(three["next_cursor"], Value::Null);

        // The platform administrator's scope is the whole tree.
        let all = app.get("/api/v1/shops").await;
        assert_eq!(ids(all.ok(200)), [first.id, second.id, foreign.id]);

        let bad_limit = app.get("/api/v1/shops?limit=0").await;
        assert_eq!(
            bad_limit.problem(422, "validation_failed")["field"],
            "limit"
        );
        let bad_cursor = app.get("/api/v1/shops?cursor=01").await;
        assert_eq!(
            bad_cursor.problem(422, "validation_failed")["field"],
            "cursor"
        );
    }
);

on_both_backends!(
    a_shop_is_read_only_within_the_readers_units,
    |backend| async move {
        let app = spawn_app(backend).await;
        let here = app.village().await;
        let there = app.village().await;
        let ours = shop(&app, &here, json!({"allows_cash_topup": true})).await;
        let theirs = shop(&app, &there, json!({})).await;
        let clerk = app.staff_with_role("clerk", app.org_of(&here).await).await;

        let read = app.send_as(&clerk, "GET", &shop_path(&ours), None).await;
        let read = read.ok(200);
        assert_eq!(read["id"], ours.id);
        assert_eq!(read["org_id"], app.org_of(&here).await);
        assert_eq!(read["bank_id"], here.bank);
        assert_eq!(read["name"], "青山村积分超市");
        assert_eq!(read["allows_cash_topup"], true);
        assert_eq!(read["pickup_hours"], 72);
        assert_eq!(read["active"], true);

        // Another village's shop answers like a missing one.
        app.send_as(&clerk, "GET", &shop_path(&theirs), None)
            .await
            .problem(404, "not_found");
        app.get("/api/v1/shops/987654321")
            .await
            .problem(404, "not_found");

        // A shop of the township above the village is visible as existing, but not to read.
        let township = org(&app, "T-shops", "township", None).await;
        let village = org(&app, "V-shops", "village", Some(township)).await;
        let township_bank = bank_on(&app, township).await;
        let township_shop = shop(&app, &township_bank, json!({})).await;
        let village_admin = app.staff_with_role("org_admin", village).await;
        app.send_as(&village_admin, "GET", &shop_path(&township_shop), None)
            .await
            .problem(403, "forbidden");
        let listed = app
            .send_as(&village_admin, "GET", "/api/v1/shops", None)
            .await;
        assert_eq!(ids(listed.ok(200)), Vec::<i64>::new());
    }
);

on_both_backends!(
    a_shop_change_replaces_its_settings_and_is_audited,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let opened = shop(
            &app,
            &village,
            json!({"redemption_days": [1], "pickup_hours": 24}),
        )
        .await;
        let before = app.get(&shop_path(&opened)).await.ok(200).clone();

        let changed = app
            .put(
                &shop_path(&opened),
                json!({
                    "name": "青山村爱心超市", "address": "文化礼堂", "redemption_days": [15, 1, 15],
                    "allows_cash_topup": true, "pickup_hours": 48
                }),
            )
            .await;
        let changed = changed.ok(200).clone();
        assert_eq!(changed["name"], "青山村爱心超市");
        assert_eq!(changed["address"], "文化礼堂");
        assert_eq!(changed["redemption_days"], json!([1, 15]));
        assert_eq!(changed["allows_cash_topup"], true);
        assert_eq!(changed["pickup_hours"], 48);
        assert_eq!(changed["active"], true);
        for fixed in ["id", "bank_id", "org_id", "created_at"] {
            assert_eq!(changed[fixed], before[fixed], "{fixed}");
        }
        assert_eq!(app.get(&shop_path(&opened)).await.ok(200), &changed);

        let log = app.get("/api/v1/audit?action=shop.update").await;
        let record = &log.ok(200)["items"][0];
        assert_eq!(record["target"], format!("shop:{}", opened.id));
        assert_eq!(record["actor"], "staff:1");
        // The audit log keeps the shop's stored settings before and after (not the view).
        assert_eq!(record["before"]["pickup_hours"], before["pickup_hours"]);
        assert_eq!(record["before"]["redemption_days"], "1");
        assert_eq!(record["after"]["name"], changed["name"]);
        assert_eq!(record["after"]["pickup_hours"], changed["pickup_hours"]);
        assert_eq!(record["after"]["redemption_days"], "1,15");
        assert_eq!(
            record["after"]["created_at"],
            record["before"]["created_at"]
        );

        // Full replacement: what is left out goes back to its default, as when opening.
        let reset = app
            .put(
                &shop_path(&opened),
                json!({"name": "青山村爱心超市", "address": "文化礼堂"}),
            )
            .await;
        let reset = reset.ok(200);
        assert_eq!(reset["redemption_days"], json!([]));
        assert_eq!(reset["allows_cash_topup"], false);
        assert_eq!(reset["pickup_hours"], 72);
        assert_eq!(reset["active"], true);
    }
);

on_both_backends!(
    a_shop_change_is_checked_like_opening_it,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let opened = shop(&app, &village, json!({})).await;
        let before = app.get(&shop_path(&opened)).await.ok(200).clone();
        let valid = json!({"name": "超市", "address": "村委会"});
        let with = |field: &str, value: Value| {
            let mut body = valid.clone();
            body[field] = value;
            body
        };
        let refused = [
            (with("name", json!("  ")), "name"),
            (with("name", json!("超".repeat(101))), "name"),
            (with("address", json!("")), "address"),
            (with("address", json!("址".repeat(201))), "address"),
            (with("redemption_days", json!([32])), "redemption_days"),
            (with("redemption_days", json!([0, 15])), "redemption_days"),
            (with("pickup_hours", json!(0)), "pickup_hours"),
            (with("pickup_hours", json!(721)), "pickup_hours"),
        ];
        for (body, field) in refused {
            let reply = app.put(&shop_path(&opened), body.clone()).await;
            assert_eq!(
                reply.problem(422, "validation_failed")["field"],
                field,
                "{body}"
            );
        }
        // The unit (and so the bank) of a shop is fixed; a missing name is no shop.
        app.put(&shop_path(&opened), with("org_id", json!(1)))
            .await
            .problem(422, "validation_failed");
        app.put(&shop_path(&opened), json!({"address": "村委会"}))
            .await
            .problem(422, "validation_failed");
        assert_eq!(app.get(&shop_path(&opened)).await.ok(200), &before);

        app.put("/api/v1/shops/987654321", valid)
            .await
            .problem(404, "not_found");
    }
);

on_both_backends!(
    only_org_admins_of_the_shops_unit_change_it,
    |backend| async move {
        let app = spawn_app(backend).await;
        let here = app.village().await;
        let there = app.village().await;
        let opened = shop(&app, &here, json!({})).await;
        let org_here = app.org_of(&here).await;
        let body = json!({"name": "改名超市", "address": "村委会"});

        for role in ["clerk", "organiser", "auditor"] {
            let token = app.staff_with_role(role, org_here).await;
            app.send_as(&token, "PUT", &shop_path(&opened), Some(body.clone()))
                .await
                .problem(403, "forbidden");
            // They still read it.
            app.send_as(&token, "GET", &shop_path(&opened), None)
                .await
                .ok(200);
        }
        let stranger = app
            .staff_with_role("org_admin", app.org_of(&there).await)
            .await;
        app.send_as(&stranger, "PUT", &shop_path(&opened), Some(body.clone()))
            .await
            .problem(404, "not_found");
        assert_eq!(
            app.get(&shop_path(&opened)).await.ok(200)["name"],
            "青山村积分超市"
        );

        let admin = app.staff_with_role("org_admin", org_here).await;
        let changed = app
            .send_as(&admin, "PUT", &shop_path(&opened), Some(body))
            .await;
        assert_eq!(changed.ok(200)["name"], "改名超市");
    }
);

on_both_backends!(
    a_closed_shop_refuses_new_orders_but_hands_over_pending_ones,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let opened = shop(&app, &village, json!({})).await;
        let soap = goods(&app, &opened, "肥皂", "5", 10, json!({})).await;
        let member = members_with_points(&app, &village, 1, "100")
            .await
            .remove(0);
        let line = json!([{"goods_id": soap, "quantity": 1}]);
        let pending = order(&app, &member, &opened, line.clone()).await;
        let code = pending.ok(201)["pickup_code"].as_str().unwrap().to_string();

        let closed = app
            .put(
                &shop_path(&opened),
                json!({"name": "青山村积分超市", "address": "村委会一楼", "active": false}),
            )
            .await;
        assert_eq!(closed.ok(200)["active"], false);
        order(&app, &member, &opened, line.clone())
            .await
            .problem(409, "shop_closed");
        let mine = app
            .send_as(&member.token, "GET", "/api/v1/me/shops", None)
            .await;
        assert_eq!(mine.ok(200), &json!([]));
        app.post(
            &format!("/api/v1/shops/{}/pickups", opened.id),
            json!({"pickup": code}),
        )
        .await
        .ok(200);

        // Leaving `active` out of a change opens the shop again.
        app.put(
            &shop_path(&opened),
            json!({"name": "青山村积分超市", "address": "村委会一楼"}),
        )
        .await
        .ok(200);
        order(&app, &member, &opened, line).await.ok(201);
    }
);

on_both_backends!(
    one_goods_item_is_read_with_its_stock_within_scope,
    |backend| async move {
        let app = spawn_app(backend).await;
        let here = app.village().await;
        let there = app.village().await;
        let opened = shop(&app, &here, json!({})).await;
        let soap = goods(
            &app,
            &opened,
            "洗衣液",
            "30",
            10,
            json!({"low_stock_threshold": 8, "monthly_limit": 3}),
        )
        .await;
        let member = members_with_points(&app, &here, 1, "100").await.remove(0);
        order(
            &app,
            &member,
            &opened,
            json!([{"goods_id": soap, "quantity": 2}]),
        )
        .await
        .ok(201);
        let clerk = app.staff_with_role("clerk", app.org_of(&here).await).await;

        let path = format!("/api/v1/goods/{soap}");
        let item = app.send_as(&clerk, "GET", &path, None).await;
        let item = item.ok(200);
        assert_eq!(item["id"], soap);
        assert_eq!(item["shop_id"], opened.id);
        assert_eq!(item["name"], "洗衣液");
        assert_eq!(item["price"], "30.00");
        assert_eq!(item["monthly_limit"], 3);
        assert_eq!(
            (&item["stock"], &item["reserved"], &item["available"]),
            (&json!(10), &json!(2), &json!(8))
        );
        assert_eq!(item["low_stock"], true);

        let stranger = app
            .staff_with_role("org_admin", app.org_of(&there).await)
            .await;
        app.send_as(&stranger, "GET", &path, None)
            .await
            .problem(404, "not_found");
        app.get("/api/v1/goods/987654321")
            .await
            .problem(404, "not_found");
    }
);

on_both_backends!(
    a_member_reads_their_own_order_and_nobody_elses,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let opened = shop(&app, &village, json!({})).await;
        let rice = goods(&app, &opened, "大米", "20", 5, json!({})).await;
        let mut members = members_with_points(&app, &village, 2, "100").await;
        let (alice, bob) = (members.remove(0), members.remove(0));
        let placed = order(
            &app,
            &alice,
            &opened,
            json!([{"goods_id": rice, "quantity": 2}]),
        )
        .await;
        let placed = placed.ok(201).clone();
        let path = format!("/api/v1/me/orders/{}", placed["id"]);

        let mine = app.send_as(&alice.token, "GET", &path, None).await;
        assert_eq!(mine.ok(200), &placed);
        assert_eq!(mine.body["lines"][0]["quantity"], 2);
        app.send_as(&bob.token, "GET", &path, None)
            .await
            .problem(404, "not_found");
        app.send_as(&alice.token, "GET", "/api/v1/me/orders/987654321", None)
            .await
            .problem(404, "not_found");

        // After a cancellation it reads as cancelled.
        app.send_as(&alice.token, "DELETE", &path, None)
            .await
            .ok(200);
        let cancelled = app.send_as(&alice.token, "GET", &path, None).await;
        assert_eq!(cancelled.ok(200)["status"], "cancelled");
    }
);

on_both_backends!(
    a_retried_order_with_its_key_is_placed_once_and_says_it_was_replayed,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let opened = shop(&app, &village, json!({})).await;
        let oil = goods(&app, &opened, "食用油", "40", 10, json!({})).await;
        let member = members_with_points(&app, &village, 1, "100")
            .await
            .remove(0);
        let replayed = |reply: &Reply| {
            reply
                .headers
                .get("idempotent-replayed")
                .map(|v| v.to_str().unwrap().to_string())
        };

        // The member's tap in the mini-program, retried after a timeout.
        let body = json!({"shop_id": opened.id, "lines": [{"goods_id": oil, "quantity": 1}]});
        let first = my_order_with_key(&app, &member, &body, "tap-1").await;
        assert_eq!(replayed(&first), None);
        let again = my_order_with_key(&app, &member, &body, "tap-1").await;
        assert_eq!(replayed(&again).as_deref(), Some("true"));
        assert_eq!(again.ok(201), first.ok(201));
        assert_eq!(app.account(&village, member.points).await["held"], "40.00");

        // The clerk's counter order, retried.
        let path = format!("/api/v1/shops/{}/orders", opened.id);
        let counter =
            json!({"card": member.card_number, "lines": [{"goods_id": oil, "quantity": 1}]});
        let first = app
            .post_with_key(&path, counter.clone(), Some("counter-1"))
            .await;
        assert_eq!(replayed(&first), None);
        let again = app.post_with_key(&path, counter, Some("counter-1")).await;
        assert_eq!(replayed(&again).as_deref(), Some("true"));
        assert_eq!(again.ok(201), first.ok(201));
        assert_eq!(app.account(&village, member.points).await["held"], "80.00");
        let state = app.get(&format!("/api/v1/goods/{oil}")).await;
        assert_eq!(state.ok(200)["reserved"], 2);
    }
);

on_both_backends!(
    a_counter_sale_retried_after_the_shop_stopped_taking_cash_is_replayed,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let opened = shop(&app, &village, json!({"allows_cash_topup": true})).await;
        let kettle = goods(&app, &opened, "水壶", "30", 2, json!({})).await;
        let member = members_with_points(&app, &village, 1, "20").await.remove(0);
        let path = format!("/api/v1/shops/{}/orders", opened.id);
        let sale = json!({
            "card": member.card_number, "lines": [{"goods_id": kettle, "quantity": 1}],
            "cash_topup": {"points": "10", "cash": "10"}, "fulfil_now": true
        });
        let first = app.post_with_key(&path, sale.clone(), Some("sale-1")).await;
        let first = first.ok(201).clone();
        app.put(
            &shop_path(&opened),
            json!({"name": "青山村积分超市", "address": "村委会一楼", "allows_cash_topup": false}),
        )
        .await
        .ok(200);

        let again = app.post_with_key(&path, sale.clone(), Some("sale-1")).await;
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.ok(201), &first);
        // A new sale with cash is refused now.
        app.post_with_key(&path, sale, Some("sale-2"))
            .await
            .problem(422, "validation_failed");
        assert_eq!(app.wallet_balance(&village, member.points).await, "0.00");
    }
);
