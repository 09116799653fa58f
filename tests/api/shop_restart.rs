//! A crash between hold and fulfil: members' orders hold points and reserve goods, the real
//! binary is SIGKILLed while a burst of pickups and new orders is in flight, and after a restart
//! on the same database every order is either fulfilled exactly once or still pending and
//! fulfillable; an order whose deadline passed while the server was down expires cleanly.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use pointsbank::clock::{Clock, SystemClock};
use pointsbank::config::Settings;
use pointsbank::db::{connection, DbTarget};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;
use crate::restart::{
    create_admin, kill_mid_burst, minor_of, send, wallet_of, Api, Seen, Server, JWT_SECRET,
};

/// Members who order before the crash; the first `PICKED_UP_IN_BURST` of their orders are picked
/// up in the burst, the next `EXPIRING` pass their deadline while the server is down.
const MEMBERS: usize = 40;
const PICKED_UP_IN_BURST: usize = MEMBERS * 3 / 4;
const EXPIRING: usize = 3;
/// Members whose orders are sent in the burst, while the server is being killed.
const LATE: usize = MEMBERS / 2;
/// Kill the server once this many requests of the burst have been answered.
const KILL_AFTER: usize = 12;
/// Every order is one item of 10.00 points; every member has 30.00, and the shelf is not emptied.
const PRICE: i64 = 10_00;
const POINTS: i64 = 3 * PRICE;
const STOCK: i64 = 100;

/// One member: their POINTS wallet and a mini-program token.
struct Shopper {
    id: i64,
    wallet: i64,
    token: String,
}

/// The books as the API shows them, per order and per wallet.
struct Books {
    /// order id → (member id, status, entry id)
    orders: HashMap<i64, (i64, String, Option<i64>)>,
    stock: i64,
    reserved: i64,
    /// wallet → (balance, held)
    wallets: HashMap<i64, (i64, i64)>,
    redeemed: i64,
}

impl Books {
    fn count(&self, status: &str) -> usize {
        self.orders.values().filter(|o| o.1 == status).count()
    }

    fn status(&self, order: i64) -> &str {
        self.orders.get(&order).map_or("missing", |o| o.1.as_str())
    }

    /// Every order is pending (points held, goods reserved), fulfilled exactly once (points
    /// spent into one `redeem` entry, goods gone) or expired (both back): nothing in between.
    fn assert_consistent(&self, shoppers: &[Shopper]) {
        let fulfilled = self.count("fulfilled") as i64;
        let pending = self.count("pending") as i64;
        assert_eq!(
            fulfilled + pending + self.count("expired") as i64,
            self.orders.len() as i64,
            "an order in an unexpected state: {:?}",
            self.orders
        );
        assert_eq!(self.stock, STOCK - fulfilled, "stock");
        assert_eq!(self.reserved, pending, "reserved");
        assert_eq!(self.redeemed, fulfilled * PRICE, "redemption account");
        let mut entries: Vec<i64> = self
            .orders
            .values()
            .filter(|o| o.1 == "fulfilled")
            .map(|o| o.2.expect("a fulfilled order has its redeem entry"))
            .collect();
        entries.sort_unstable();
        entries.dedup();
        assert_eq!(
            entries.len() as i64,
            fulfilled,
            "one entry per fulfilled order"
        );
        for shopper in shoppers {
            let mine = |status: &str| {
                self.orders
                    .values()
                    .filter(|o| o.0 == shopper.id && o.1 == status)
                    .count() as i64
            };
            assert_eq!(
                self.wallets[&shopper.wallet],
                (POINTS - PRICE * mine("fulfilled"), PRICE * mine("pending")),
                "member {}: (balance, held)",
                shopper.id
            );
        }
    }
}

async fn books(
    api: &Api,
    bank: i64,
    shop: i64,
    goods: i64,
    redemption: i64,
    shoppers: &[Shopper],
) -> Books {
    let orders = shop_orders(api, shop)
        .await
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().unwrap(),
                (
                    o["member_id"].as_i64().unwrap(),
                    o["status"].as_str().unwrap().to_string(),
                    o["entry_id"].as_i64(),
                ),
            )
        })
        .collect();
    let shelf = api.get(&format!("/api/v1/shops/{shop}/goods")).await;
    let item = shelf
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == goods)
        .unwrap()
        .clone();
    let mut wallets = HashMap::new();
    for shopper in shoppers {
        let account = api
            .get(&format!("/api/v1/banks/{bank}/accounts/{}", shopper.wallet))
            .await;
        let account = account.ok(200);
        wallets.insert(
            shopper.wallet,
            (
                minor_of(account["balance"].as_str().unwrap()),
                minor_of(account["held"].as_str().unwrap()),
            ),
        );
    }
    Books {
        orders,
        stock: item["stock"].as_i64().unwrap(),
        reserved: item["reserved"].as_i64().unwrap(),
        wallets,
        redeemed: api.balance(bank, redemption).await,
    }
}

/// A member orders one item, with an Idempotency-Key as the mini-program sends it.
fn order_request(
    api: &Api,
    shopper: &Shopper,
    shop: i64,
    goods: i64,
    key: &str,
) -> reqwest::RequestBuilder {
    api.client
        .post(format!("{}/api/v1/me/orders", api.base))
        .bearer_auth(&shopper.token)
        .header("Idempotency-Key", key)
        .json(&json!({"shop_id": shop, "lines": [{"goods_id": goods, "quantity": 1}]}))
}

/// The order, placed (or replayed from its key): it must be answered 201.
async fn place(api: &Api, shopper: &Shopper, shop: i64, goods: i64, key: &str) -> Value {
    match send(order_request(api, shopper, shop, goods, key)).await {
        Seen::Answered(201, order) => order,
        other => panic!("order {key}: {other:?}"),
    }
}

/// The shop's orders (all of them: a test makes fewer than a page).
async fn shop_orders(api: &Api, shop: i64) -> Vec<Value> {
    let listed = api
        .get(&format!("/api/v1/shops/{shop}/orders?limit=200"))
        .await;
    listed.ok(200)["items"].as_array().unwrap().clone()
}

/// The clerk scans an order's pickup QR at the counter.
async fn scan(api: &Api, shop: i64, pickup: &str) -> Reply {
    let body = json!({ "pickup": pickup });
    api.post(&format!("/api/v1/shops/{shop}/pickups"), &body, None)
        .await
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

on_both_backends!(
    orders_survive_a_crash_between_hold_and_fulfil_and_end_exactly_once,
    |backend| async move {
        let started = Instant::now();
        let database = TestDatabase::new(backend);
        create_admin(&database);
        let pool =
            connection::build_pool(&DbTarget::parse(&database.url), 1, Duration::from_secs(10))
                .expect("pool");
        let settings = Settings::for_instance(&database.url, database.dir.path());
        let keys = pointsbank::auth::jwt::TokenKeys::new(
            JWT_SECRET.as_bytes(),
            &settings.jwt_issuer,
            &settings.jwt_audience,
            settings.access_token_ttl_seconds,
        );

        let (mut server, api) = Server::serve(&database, "first").await;
        let (org, bank) = api.village().await;
        let issuance = api.system_account(bank, "issuance").await;
        let redemption = api.system_account(bank, "redemption").await;
        let shop = api
            .post(
                "/api/v1/shops",
                &json!({"org_id": org, "name": "青山村积分超市", "address": "村委会一楼"}),
                None,
            )
            .await;
        let shop = shop.ok(201)["id"].as_i64().unwrap();
        let goods = api
            .post(
                &format!("/api/v1/shops/{shop}/goods"),
                &json!({"name": "洗衣液", "category": "日用品", "price": "10"}),
                None,
            )
            .await;
        let goods = goods.ok(201)["id"].as_i64().unwrap();
        api.post(
            &format!("/api/v1/goods/{goods}/stock-movements"),
            &json!({"kind": "stock_in", "quantity": STOCK, "note": "进货"}),
            None,
        )
        .await
        .ok(201);

        // Members with 30 points each, signed in to the mini-program (a WeChat binding and a
        // member token, as WeChat sign-in leaves them).
        let mut shoppers = Vec::new();
        for i in 0..MEMBERS + LATE {
            let created = api
                .post("/api/v1/members", &json!({"org_id": org, "name": format!("村民{i}"), "phone": format!("139{i:08}")}), None)
                .await;
            let created = created.ok(201);
            let id = created["id"].as_i64().unwrap();
            let wallet = wallet_of(created, "POINTS");
            let bound_at = SystemClock.now_micros();
            diesel::sql_query(format!(
                "INSERT INTO wechat_bindings (openid, member_id, bound_at) VALUES ('o-crash-{id}', {id}, {bound_at})"
            ))
            .execute(&mut *pool.get().unwrap())
            .unwrap();
            let token = keys
                .issue_member(id, bound_at, bound_at / 1_000_000)
                .unwrap();
            shoppers.push(Shopper { id, wallet, token });
        }
        let mut postings = vec![
            json!({"account_id": issuance, "amount": format!("-{}", POINTS as usize * shoppers.len() / 100)}),
        ];
        postings.extend(
            shoppers
                .iter()
                .map(|s| json!({"account_id": s.wallet, "amount": "30"})),
        );
        api.post(
            &format!("/api/v1/banks/{bank}/entries"),
            &json!({"kind": "award", "memo": "志愿服务", "postings": postings}),
            None,
        )
        .await
        .ok(201);

        // The first members order: points held, goods reserved.
        let mut orders = Vec::new();
        for (i, shopper) in shoppers[..MEMBERS].iter().enumerate() {
            let order = place(&api, shopper, shop, goods, &format!("order-{i}")).await;
            orders.push((
                order["id"].as_i64().unwrap(),
                order["pickup_token"].as_str().unwrap().to_string(),
            ));
        }
        let before = books(&api, bank, shop, goods, redemption, &shoppers).await;
        assert_eq!(
            (before.count("pending"), before.reserved),
            (MEMBERS, MEMBERS as i64)
        );
        before.assert_consistent(&shoppers);

        // The burst: pickups of the first orders and the late members' orders, all at once;
        // the server is killed once a few have been answered.
        let pickups_url = format!("{}/api/v1/shops/{shop}/pickups", api.base);
        // Pickups and new orders interleaved, so that both kinds are in flight at the kill.
        let pickups = orders[..PICKED_UP_IN_BURST].iter().map(|(_, pickup)| {
            let body = json!({ "pickup": pickup });
            api.client
                .post(&pickups_url)
                .bearer_auth(&api.token)
                .json(&body)
        });
        let late = shoppers[MEMBERS..]
            .iter()
            .enumerate()
            .map(|(i, shopper)| order_request(&api, shopper, shop, goods, &format!("late-{i}")));
        let mut burst = Vec::new();
        let mut is_pickup = Vec::new();
        let (mut pickups, mut late) = (pickups.peekable(), late.peekable());
        while pickups.peek().is_some() || late.peek().is_some() {
            for (next, pickup) in [(pickups.next(), true), (late.next(), false)] {
                if let Some(request) = next {
                    burst.push(request);
                    is_pickup.push(pickup);
                }
            }
        }
        let (seen, _) = kill_mid_burst(&mut server, burst, KILL_AFTER).await;
        let (pickups_seen, late_seen): (Vec<_>, Vec<_>) = seen
            .iter()
            .zip(&is_pickup)
            .partition(|(_, pickup)| **pickup);
        let pickups_seen: Vec<&Seen> = pickups_seen.into_iter().map(|(s, _)| s).collect();
        let late_seen: Vec<&Seen> = late_seen.into_iter().map(|(s, _)| s).collect();
        let lost: Vec<&str> = seen.iter().filter_map(Seen::lost).collect();
        eprintln!(
            "{backend:?}: killed with {} of {} requests unanswered (e.g. {:?})",
            lost.len(),
            seen.len(),
            lost.first()
        );
        assert!(
            !lost.is_empty(),
            "the kill must interrupt requests in flight: {seen:?}"
        );
        for answer in &seen {
            if let Seen::Answered(status, body) = answer {
                assert!(
                    matches!(status, 200 | 201)
                        || (*status == 503 && body["code"] == "service_unavailable"),
                    "unexpected answer before the kill: {status} {body}"
                );
            }
        }

        // While the server is down, the deadline of a few untouched orders passes.
        let expiring: Vec<i64> = orders[PICKED_UP_IN_BURST..PICKED_UP_IN_BURST + EXPIRING]
            .iter()
            .map(|(id, _)| *id)
            .collect();
        let ids = expiring
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let changed = diesel::sql_query(format!(
            "UPDATE orders SET expires_at = {} WHERE id IN ({ids}) AND status = 'pending'",
            SystemClock.now_micros() - 1_000_000
        ))
        .execute(&mut *pool.get().unwrap())
        .unwrap();
        assert_eq!(changed, EXPIRING);

        let (server, api) = Server::serve(&database, "after-crash").await;

        // (1) Right after the restart: every order pending, fulfilled once or expired, and the
        // wallets, the shelf and the redemption account agree with that.
        let after = books(&api, bank, shop, goods, redemption, &shoppers).await;
        after.assert_consistent(&shoppers);
        for ((order, _), answer) in orders.iter().zip(&pickups_seen) {
            match answer {
                Seen::Answered(200, body) => {
                    assert_eq!(after.status(*order), "fulfilled", "acknowledged pickup");
                    assert_eq!(
                        Some(after.orders[order].2.unwrap()),
                        body["entry"]["id"].as_i64()
                    );
                }
                _ => assert!(
                    matches!(after.status(*order), "fulfilled" | "pending"),
                    "order {order} after a lost pickup: {}",
                    after.status(*order)
                ),
            }
        }

        let lost_but_done = orders
            .iter()
            .zip(&pickups_seen)
            .filter(|((order, _), seen)| {
                matches!(seen, Seen::Lost(_)) && after.status(*order) == "fulfilled"
            })
            .count();
        let late_committed = after
            .orders
            .values()
            .filter(|o| shoppers[MEMBERS..].iter().any(|s| s.id == o.0))
            .count();
        eprintln!(
            "{backend:?}: after the restart {} fulfilled ({lost_but_done} of them unanswered \
             before the kill), {} pending; {late_committed} of {LATE} late orders committed",
            after.count("fulfilled"),
            after.count("pending")
        );

        // (2) The overdue orders expire by themselves: hold released, goods back on the shelf.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let expired = api
                .get(&format!("/api/v1/shops/{shop}/orders?status=expired"))
                .await;
            let mut expired: Vec<i64> = expired.ok(200)["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_i64().unwrap())
                .collect();
            expired.sort_unstable();
            if expired == expiring {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "orders did not expire: {expired:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for (_, pickup) in &orders[PICKED_UP_IN_BURST..PICKED_UP_IN_BURST + EXPIRING] {
            let refused = scan(&api, shop, pickup).await;
            refused.problem(409, "order_not_pending");
        }

        // (3) Scanning every burst order again: the fulfilled ones are refused, the pending ones
        // are handed over now.
        for (order, pickup) in &orders[..PICKED_UP_IN_BURST] {
            let again = scan(&api, shop, pickup).await;
            if after.status(*order) == "fulfilled" {
                again.problem(409, "order_not_pending");
            } else {
                assert_eq!(again.ok(200)["order"]["status"], "fulfilled");
            }
        }

        // (4) The late members retry their orders with the same key: an order that committed
        // before the crash is replayed, one that did not is placed now; one order each.
        let mut late_orders = Vec::new();
        for (i, (shopper, first)) in shoppers[MEMBERS..].iter().zip(late_seen).enumerate() {
            let order = place(&api, shopper, shop, goods, &format!("late-{i}")).await;
            if let Seen::Answered(201, original) = first {
                assert_eq!(
                    order["id"], original["id"],
                    "late order {i} was acknowledged"
                );
            }
            let count = shop_orders(&api, shop)
                .await
                .iter()
                .filter(|o| o["member_id"] == shopper.id)
                .count();
            assert_eq!(count, 1, "member {} has one order", shopper.id);
            late_orders.push(order["pickup_token"].as_str().unwrap().to_string());
        }

        // (5) Everything still pending is handed over.
        let remaining = orders[PICKED_UP_IN_BURST + EXPIRING..]
            .iter()
            .map(|(_, pickup)| pickup.clone())
            .chain(late_orders);
        for pickup in remaining {
            let handed = scan(&api, shop, &pickup).await;
            assert_eq!(handed.ok(200)["order"]["status"], "fulfilled");
        }

        let last = books(&api, bank, shop, goods, redemption, &shoppers).await;
        last.assert_consistent(&shoppers);
        let fulfilled = MEMBERS - EXPIRING + LATE;
        assert_eq!(
            (
                last.count("fulfilled"),
                last.count("expired"),
                last.count("pending")
            ),
            (fulfilled, EXPIRING, 0)
        );
        assert_eq!((last.stock, last.reserved), (STOCK - fulfilled as i64, 0));
        assert_eq!(last.redeemed, fulfilled as i64 * PRICE);
        let logged =
            pointsbank::db::supermarket::goods::logged_stock(&mut pool.get().unwrap(), goods)
                .unwrap();
        assert_eq!(logged, last.stock, "the stock log adds up to the stock");
        let redeem_entries: Count = diesel::sql_query(format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM entries WHERE bank_id = {bank} AND kind = 'redeem'"
        ))
        .get_result(&mut *pool.get().unwrap())
        .unwrap();
        assert_eq!(
            redeem_entries.n, fulfilled as i64,
            "one redeem entry per fulfilled order"
        );
        let report = api.assert_verified(bank).await;
        assert_eq!(report["ok"], true);
        drop(server);
        eprintln!("{backend:?}: {:.1} s", started.elapsed().as_secs_f64());
    }
);
