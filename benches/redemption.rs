//! The redemption benchmark (积分超市): members order goods through the HTTP API and a clerk
//! hands them over, against the raw SQL ceiling of the same two transactions; then many buyers
//! race for one hot goods with little stock. SQLite and PostgreSQL, one fresh database each.
//!
//! ```sh
//! cargo bench --bench redemption -- [--backend sqlite|postgres|both] [--seconds N]
//! ```
//!
//! For each backend it creates a fresh database, starts the real service in-process, and sets up
//! (through the database layer, for speed) an administrator, a clerk, a bank, a shop, `--goods`
//! goods with ample stock, one hot goods with `--stock` items, `--members` members with plenty of
//! points and `--buyers` buyers with enough for one hot item, each with a WeChat binding and a
//! member token. Then:
//!
//! * **(a) throughput**, for each concurrency `c`: a *redemption* is an order of one item
//!   (`POST /api/v1/me/orders` as the member, with an `Idempotency-Key`) followed by its pickup
//!   (`POST /api/v1/shops/{shop}/pickups` as the clerk, with the order's `pickup_token`).
//!   - **raw**: `c` OS threads, each with its own connection, run the statements of the place
//!     transaction and then of the fulfil transaction (one `write_tx` each) as SQL;
//!   - **api**: `c` keep-alive HTTP clients run order + pickup pairs.
//!
//!   Redemptions/s counts the pairs completed inside the window; p50/p99 are of the pair.
//! * **(b) contention**: `--racers` clients place one order each for `--buyers` buyers, all
//!   for the hot goods. Exactly `--stock` must succeed and the rest be refused `out_of_stock`;
//!   the points held and the stock reserved must match; then every winning order is picked up.
//!
//! At the end the bank must verify clean once sealed, and the books, the wallets and the shelf
//! must hold exactly what the completed redemptions say. Any mismatch fails the run (exit 1).

mod common;

use common::{BalanceRow, IdRow, PathRow};

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, bail, ensure};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{sql_query, ExpressionMethods, QueryDsl, QueryableByName, RunQueryDsl};
use pointsbank::auth::jwt::TokenKeys;
use pointsbank::auth::password::hash_password;
use pointsbank::db::schema::{accounts, wechat_bindings};
use pointsbank::db::{self, Backend, Db};
use pointsbank::domain::access::Role;
use pointsbank::domain::ledger::{AccountKind, Asset};
use pointsbank::domain::money::Amount;
use pointsbank::domain::shop::{sign_pickup, MovementKind};
use pointsbank::error::ApiResult;
use pointsbank::http::types::timestamp;
use rand::Rng;
use serde_json::{json, Value};

use common::{
    backend_name, load_average, Api, BenchDatabase, Figures, Row, Service, ADMIN_PASSWORD,
    ADMIN_PHONE,
};

const USAGE: &str = "usage: cargo bench --bench redemption -- [--backend sqlite|postgres|both] \
[--seconds N] [--warmup N] [--members N] [--goods N] [--concurrency 1,16,64] [--buyers N] \
[--stock N] [--racers N] [--pool N] [--relaxed] [--only raw|api]
  --members  members who redeem in the throughput runs (default 2000)
  --goods    goods they redeem, round-robin (default 16)
  --buyers   buyers racing for the hot goods (default 1000), --stock its items (default 200),
             --racers the concurrent clients sending their orders (default 64)
  --relaxed  SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off, for raw and API alike
  --pool     the service's database pool size (default 8 on SQLite, 16 on PostgreSQL)
  --only     measure one side of the throughput runs only (for profiling)
PostgreSQL admin URL: PB_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)";

const CLERK_PHONE: &str = "13700000000";
const CLERK_PASSWORD: &str = "bench-clerk-password";
/// Every throughput goods costs 1.00 point; the hot goods 5.00.
const PRICE_MINOR: i64 = 100;
const HOT_PRICE_MINOR: i64 = 500;
/// A throughput member's points: far more than a run can spend.
const MEMBER_MINOR: i64 = 1_000_000;
/// A buyer's points: enough for one hot item, not for three.
const BUYER_MINOR: i64 = 1_200;
/// Stock of each throughput goods: a run never empties the shelf.
const AMPLE_STOCK: i64 = 10_000_000;
/// Members registered, bound and awarded per setup transaction (an award has ≤ 500 postings).
const SETUP_BATCH: usize = 250;

fn main() -> ExitCode {
    let (options, runtime) = match common::start(Options::parse(std::env::args().skip(1)), USAGE) {
        Ok(started) => started,
        Err(code) => return code,
    };
    println!(
        "redemption benchmark: {}; {} members, {} goods; race: {} buyers, {} racers, stock {}",
        options.run.describe(),
        options.members,
        options.goods,
        options.buyers,
        options.racers,
        options.stock,
    );
    let (outcomes, failed) = common::each_backend(&options.run.backends, |backend| {
        run_backend(backend, &options, &runtime)
    });
    let rows: Vec<Row> = outcomes
        .iter()
        .flat_map(|o| o.rows.iter().cloned())
        .collect();
    let races: Vec<&RaceRow> = outcomes.iter().map(|o| &o.race).collect();
    println!("\n{}", common::table(&rows, "redemptions"));
    println!("{}", race_table(&races));
    let reports: Vec<String> = outcomes.iter().map(|o| o.report.clone()).collect();
    common::finish(&reports, failed)
}

struct Options {
    run: common::RunOptions,
    members: usize,
    goods: usize,
    buyers: usize,
    stock: i64,
    racers: usize,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            run: common::RunOptions::default(),
            members: 2000,
            goods: 16,
            buyers: 1000,
            stock: 200,
            racers: 64,
        };
        for (flag, value) in common::flags(args, &["--relaxed"])? {
            if options.run.take(&flag, &value)? {
                continue;
            }
            let value = common::value_of(&flag, value)?;
            let number = || common::positive_integer::<usize>(&flag, &value);
            match flag.as_str() {
                "--members" => options.members = number()?,
                "--goods" => options.goods = number()?,
                "--buyers" => options.buyers = number()?,
                "--stock" => options.stock = number()? as i64,
                "--racers" => options.racers = number()?,
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        if options.stock as usize > options.buyers {
            return Err("--stock must not exceed --buyers".into());
        }
        Ok(options)
    }
}

// ---------------------------------------------------------------------------------------------
// The shop and its members
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Goods {
    id: i64,
    name: String,
    price: i64,
}

struct Member {
    id: i64,
    wallet: i64,
    token: String,
}

/// Everything a redemption needs to know, set up once per backend.
struct World {
    bank: i64,
    org_id: i64,
    shop: i64,
    /// The bank's POINTS redemption account (where captured points go).
    redemption: i64,
    issuance: i64,
    goods: Vec<Goods>,
    hot: Goods,
    members: Vec<Member>,
    buyers: Vec<Member>,
    clerk_actor: String,
    card_secret: String,
}

impl World {
    /// The member and the goods of the `n`th redemption (round-robin over both).
    fn pick(&self, n: u64) -> (&Member, &Goods) {
        (
            &self.members[(n % self.members.len() as u64) as usize],
            &self.goods[(n % self.goods.len() as u64) as usize],
        )
    }
}

fn stock_in(conn: &mut Db, goods: &db::shop::GoodsRow, quantity: i64, now: i64) -> ApiResult<()> {
    db::shop::record_movement(
        conn,
        db::shop::Movement {
            goods,
            kind: MovementKind::StockIn,
            quantity,
            donor_name: None,
            donor_value_fen: None,
            note: "进货",
            order_id: None,
            actor: "bench",
        },
        now,
    )
    .map(|_| ())
}

fn goods_fields(name: &str, price: i64) -> db::shop::GoodsFields {
    db::shop::GoodsFields {
        name: name.to_string(),
        description: String::new(),
        image_url: None,
        category: "日用品".into(),
        price,
        monthly_limit: None,
        available_from: None,
        available_until: None,
        low_stock_threshold: 0,
        active: true,
    }
}

/// The bank's accounts and shop, before any member exists.
struct Shelf {
    village: common::Village,
    shop: i64,
    goods: Vec<Goods>,
    hot: Goods,
    redemption: i64,
    issuance: db::accounts::AccountRow,
    clerk_actor: String,
}

fn open_shop(conn: &mut Db, options: &Options) -> anyhow::Result<Shelf> {
    let admin_hash = hash_password(ADMIN_PASSWORD)?;
    let clerk_hash = hash_password(CLERK_PASSWORD)?;
    db::write_tx(conn, |c| -> ApiResult<Shelf> {
        let now = db::now_micros();
        let village = common::create_village(c, &admin_hash)?;
        let clerk = db::staff::create_staff(c, CLERK_PHONE, "收银员", &clerk_hash, "staff", now)?;
        db::staff::add_grant(c, clerk.id, Role::Clerk, Some(village.org_id), "bench", now)?;
        let shop = db::shop::create_shop(
            c,
            db::shop::NewShop {
                bank_id: village.bank_id,
                org_id: village.org_id,
                name: "青山村积分超市",
                address: "村委会一楼",
                redemption_days: None,
                allows_cash_topup: false,
                pickup_hours: 72,
            },
            now,
        )?;
        let mut stocked = |name: &str, price: i64, stock: i64| -> ApiResult<Goods> {
            let row = db::shop::create_goods(c, &shop, &goods_fields(name, price), now)?;
            stock_in(c, &row, stock, now)?;
            Ok(Goods {
                id: row.id,
                name: row.name,
                price,
            })
        };
        let goods = (0..options.goods)
            .map(|i| stocked(&format!("商品 {i}"), PRICE_MINOR, AMPLE_STOCK))
            .collect::<ApiResult<Vec<_>>>()?;
        let hot = stocked("大米 5kg", HOT_PRICE_MINOR, options.stock)?;
        let bank = village.bank_id;
        let redemption =
            db::accounts::system_account(c, bank, Asset::Points, AccountKind::Redemption)?.id;
        let issuance = db::accounts::system_account(c, bank, Asset::Points, AccountKind::Issuance)?;
        Ok(Shelf {
            village,
            shop: shop.id,
            goods,
            hot,
            redemption,
            issuance,
            clerk_actor: format!("staff:{}", clerk.id),
        })
    })
    .map_err(|e| anyhow!("opening the shop failed: {e:?}"))
}

/// Registers `count` members as they are after WeChat sign-in: member row and wallets, a WeChat
/// binding and a member access token. Their points come later, through the API (`award`).
fn register_members(
    conn: &mut Db,
    shelf: &Shelf,
    keys: &TokenKeys,
    name: &str,
    count: usize,
) -> anyhow::Result<Vec<Member>> {
    let mut members = Vec::with_capacity(count);
    let starts: Vec<usize> = (0..count).step_by(SETUP_BATCH).collect();
    for start in starts {
        let batch = start..(start + SETUP_BATCH).min(count);
        let registered = db::write_tx(conn, |c| -> ApiResult<Vec<(i64, i64, i64)>> {
            let now = db::now_micros();
            let mut registered = Vec::with_capacity(batch.len());
            for i in batch.clone() {
                let (member, _) = db::members::create_member(
                    c,
                    db::members::NewMember {
                        org_id: shelf.village.org_id,
                        name: &format!("{name} {i}"),
                        phone: None,
                        id_card: None,
                        household: None,
                        tags: "",
                        allow_proxy: false,
                    },
                    now,
                )?;
                let wallet: i64 = accounts::table
                    .filter(accounts::member_id.eq(member.id))
                    .filter(accounts::asset.eq(Asset::Points.as_str()))
                    .select(accounts::id)
                    .first(c)?;
                diesel::insert_into(wechat_bindings::table)
                    .values((
                        wechat_bindings::openid.eq(format!("o-bench-{}", member.id)),
                        wechat_bindings::member_id.eq(member.id),
                        wechat_bindings::bound_at.eq(now),
                    ))
                    .execute(c)?;
                registered.push((member.id, wallet, now));
            }
            Ok(registered)
        })
        .map_err(|e| anyhow!("registering members failed: {e:?}"))?;
        let now_seconds = chrono_seconds();
        for (id, wallet, bound_at) in registered {
            members.push(Member {
                id,
                wallet,
                token: keys.issue_member(id, bound_at, now_seconds)?,
            });
        }
    }
    Ok(members)
}

/// Gives every member `points` (minor units) through `POST /api/v1/banks/{bank}/entries`: one
/// award entry per `SETUP_BATCH` members.
async fn award(
    client: &reqwest::Client,
    api: &Api,
    world: &World,
    members: &[Member],
    points: i64,
) -> anyhow::Result<()> {
    let url = format!("{}/api/v1/banks/{}/entries", api.base, world.bank);
    for batch in members.chunks(SETUP_BATCH) {
        let mut postings = vec![json!({
            "account_id": world.issuance,
            "amount": Amount::from_minor(-points * batch.len() as i64),
        })];
        postings.extend(
            batch
                .iter()
                .map(|m| json!({"account_id": m.wallet, "amount": Amount::from_minor(points)})),
        );
        let body = json!({"kind": "award", "memo": "志愿服务", "postings": postings});
        match post(client, (&url, &api.token), &body, true).await {
            Ok((201, _)) => {}
            Ok((status, answer)) => bail!("award: {status} {answer}"),
            Err(err) => bail!("award: {err}"),
        }
    }
    Ok(())
}

fn chrono_seconds() -> i64 {
    db::now_micros() / 1_000_000
}

fn setup(
    conn: &mut Db,
    options: &Options,
    keys: &TokenKeys,
    card_secret: String,
) -> anyhow::Result<World> {
    let shelf = open_shop(conn, options)?;
    let members = register_members(conn, &shelf, keys, "志愿者", options.members)?;
    let buyers = register_members(conn, &shelf, keys, "村民", options.buyers)?;
    Ok(World {
        bank: shelf.village.bank_id,
        org_id: shelf.village.org_id,
        shop: shelf.shop,
        redemption: shelf.redemption,
        issuance: shelf.issuance.id,
        goods: shelf.goods,
        hot: shelf.hot,
        members,
        buyers,
        clerk_actor: shelf.clerk_actor,
        card_secret,
    })
}

// ---------------------------------------------------------------------------------------------
// (a) The raw SQL ceiling of one redemption: the place transaction, then the fulfil transaction
// ---------------------------------------------------------------------------------------------

#[derive(QueryableByName)]
struct BankOf {
    #[diesel(sql_type = BigInt)]
    bank_id: i64,
}

#[derive(QueryableByName)]
struct MemberState {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    merged_into: Option<i64>,
}

#[derive(QueryableByName)]
struct OrderState {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    member_id: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    total_points: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    hold_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    entry_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pickup_code: String,
    #[diesel(sql_type = Text)]
    placed_by: String,
    #[diesel(sql_type = BigInt)]
    expires_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    closed_by: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    closed_at: Option<i64>,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
}

#[derive(QueryableByName)]
struct LineState {
    #[diesel(sql_type = BigInt)]
    goods_id: i64,
    #[diesel(sql_type = BigInt)]
    quantity: i64,
    #[diesel(sql_type = BigInt)]
    unit_price: i64,
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct HoldState {
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    expires_at: i64,
}

/// `db::orders::get_order`: the order, then its lines with the goods' names.
fn select_order(conn: &mut Db, order: i64) -> anyhow::Result<(OrderState, Vec<LineState>)> {
    let mut found: Vec<OrderState> = sql_query(format!(
        "SELECT id, bank_id, shop_id, member_id, status, total_points, cash_points, cash_fen, \
         hold_id, entry_id, pickup_code, placed_by, on_behalf, expires_at, closed_by, closed_at, \
         created_at FROM orders WHERE id = {order} LIMIT 1"
    ))
    .load(conn)?;
    let state = found
        .pop()
        .ok_or_else(|| anyhow!("order {order} not found"))?;
    let lines: Vec<LineState> = sql_query(format!(
        "SELECT order_lines.order_id, order_lines.goods_id, order_lines.quantity, \
         order_lines.unit_price, order_lines.created_at, order_lines.member_id, goods.name \
         FROM order_lines INNER JOIN goods ON goods.id = order_lines.goods_id \
         WHERE order_lines.order_id = {order} ORDER BY order_lines.goods_id"
    ))
    .load(conn)?;
    Ok((state, lines))
}

/// The order as the API answers it (`http::orders::Order`), as JSON text quoted for SQL.
fn order_json(world: &World, state: &OrderState, lines: &[LineState]) -> String {
    json!({
        "id": state.id, "shop_id": world.shop, "member_id": state.member_id,
        "status": state.status, "total_points": Amount::from_minor(state.total_points),
        "cash_points": Amount::ZERO, "cash": Amount::ZERO,
        "lines": lines.iter().map(|l| json!({
            "goods_id": l.goods_id, "name": l.name, "quantity": l.quantity,
            "unit_price": Amount::from_minor(l.unit_price),
        })).collect::<Vec<_>>(),
        "pickup_code": state.pickup_code,
        "pickup_token": sign_pickup(world.card_secret.as_bytes(), state.id),
        "placed_by": state.placed_by, "on_behalf": false,
        "expires_at": timestamp(state.expires_at),
        "closed_by": state.closed_by, "closed_at": state.closed_at.map(timestamp),
        "entry_id": state.entry_id, "created_at": timestamp(state.created_at),
    })
    .to_string()
    .replace('\'', "''")
}

/// `db::orders::order_memo` for these lines.
fn order_memo(lines: &[LineState]) -> String {
    let text = lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity, l.name))
        .collect::<Vec<_>>()
        .join(", ");
    format!("积分超市兑换: {text}")
}

fn select_one(conn: &mut Db, what: &str, sql: String) -> anyhow::Result<()> {
    let found: Vec<IdRow> = sql_query(sql).load(conn)?;
    ensure!(found.len() == 1, "{what} not found");
    Ok(())
}

fn select_goods(conn: &mut Db, goods: i64) -> anyhow::Result<()> {
    select_one(
        conn,
        "goods",
        format!(
            "SELECT id, shop_id, bank_id, name, description, image_url, category, price, stock, \
             reserved, monthly_limit, available_from, available_until, low_stock_threshold, \
             active, created_at FROM goods WHERE id = {goods} LIMIT 1"
        ),
    )
}

fn select_shop(conn: &mut Db, shop: i64) -> anyhow::Result<()> {
    select_one(
        conn,
        "shop",
        format!(
            "SELECT id, bank_id, org_id, name, address, redemption_days, allows_cash_topup, \
             pickup_hours, active, created_at FROM shops WHERE id = {shop} LIMIT 1"
        ),
    )
}

fn select_hold(conn: &mut Db, bank: i64, hold: i64) -> anyhow::Result<HoldState> {
    let mut found: Vec<HoldState> = sql_query(format!(
        "SELECT id, bank_id, account_id, asset, amount, status, memo, reference, actor, \
         expires_at, created_at, resolved_at, capture_entry_id, captured_amount \
         FROM holds WHERE id = {hold} AND bank_id = {bank} LIMIT 1"
    ))
    .load(conn)?;
    found.pop().ok_or_else(|| anyhow!("hold {hold} not found"))
}

/// An UPDATE that must change exactly one row.
fn update_one(conn: &mut Db, refusal: &str, sql: String) -> anyhow::Result<()> {
    let changed = sql_query(sql).execute(conn)?;
    if changed != 1 {
        bail!("{refusal}");
    }
    Ok(())
}

/// One order of one item as `http::orders::place_my_order` runs it (`db::idempotency::once`,
/// `db::orders::place`, `db::shop::reserve`, `db::holds::create_hold`), with literals inlined.
/// Only integers and fixed text go into the SQL. Keep it in step with those functions.
fn raw_place(
    conn: &mut Db,
    world: &World,
    member: &Member,
    goods: &Goods,
    n: u64,
) -> anyhow::Result<i64> {
    let (bank, shop, m, g, price) = (world.bank, world.shop, member.id, goods.id, goods.price);
    let key = format!("raw-order-{n}");
    let request_hash = format!("{n:064x}");
    let wallet = member.wallet;
    let placed_by = format!("member:{m}");
    db::write_tx(conn, |conn| -> anyhow::Result<i64> {
        let now = db::now_micros();
        // the handler: shop::get_shop, members::bank_of
        select_shop(conn, shop)?;
        let banks: Vec<BankOf> = sql_query(format!(
            "SELECT bank_id FROM accounts WHERE member_id = {m} LIMIT 1"
        ))
        .load(conn)?;
        ensure!(
            banks.first().map(|b| b.bank_id) == Some(bank),
            "member elsewhere"
        );
        common::raw_claim_key(conn, bank, &key, &request_hash, now)?;
        // orders::place: awards::require_active_member, points_wallet, lock_row
        let mut states: Vec<MemberState> = sql_query(format!(
            "SELECT status, merged_into FROM members WHERE id = {m} LIMIT 1"
        ))
        .load(conn)?;
        let state = states
            .pop()
            .ok_or_else(|| anyhow!("member {m} not found"))?;
        ensure!(
            state.status == "active" && state.merged_into.is_none(),
            "member {m} inactive"
        );
        select_one(
            conn,
            "wallet",
            format!(
                "SELECT id, bank_id, asset, kind, name, owner_ref, balance, held, created_at, \
                 member_id FROM accounts WHERE bank_id = {bank} AND member_id = {m} \
                 AND asset = 'POINTS' LIMIT 1"
            ),
        )?;
        if db::connection::backend_of(conn) == Backend::Postgres {
            sql_query(format!(
                "SELECT 1 FROM accounts WHERE id = {wallet} FOR UPDATE"
            ))
            .execute(conn)?;
        }
        // the line: shop::get_goods, shop::reserve
        select_goods(conn, g)?;
        update_one(
            conn,
            "out_of_stock",
            format!(
                "UPDATE goods SET reserved = reserved + 1 WHERE id = {g} AND stock - reserved >= 1"
            ),
        )?;
        // fresh_pickup_code
        let code = loop {
            let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
            let taken: common::Total = sql_query(format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS total FROM orders WHERE shop_id = {shop} \
                 AND status = 'pending' AND pickup_code = '{code}'"
            ))
            .get_result(conn)?;
            if taken.total == 0 {
                break code;
            }
        };
        let expires_at = now + 72 * 3_600_000_000;
        let order: IdRow = sql_query(format!(
            "INSERT INTO orders (bank_id, shop_id, member_id, status, total_points, cash_points, \
             cash_fen, pickup_code, placed_by, on_behalf, expires_at, created_at) \
             VALUES ({bank}, {shop}, {m}, 'pending', {price}, 0, 0, '{code}', '{placed_by}', \
             FALSE, {expires_at}, {now}) RETURNING id, bank_id, shop_id, member_id, status, \
             total_points, cash_points, cash_fen, hold_id, entry_id, pickup_code, placed_by, \
             on_behalf, expires_at, closed_by, closed_at, created_at"
        ))
        .get_result(conn)?;
        let order = order.id;
        sql_query(format!(
            "INSERT INTO order_lines (order_id, goods_id, quantity, unit_price, created_at, member_id) \
             VALUES ({order}, {g}, 1, {price}, {now}, {m})"
        ))
        .execute(conn)?;
        // holds::create_hold
        update_one(
            conn,
            "insufficient_points",
            format!(
                "UPDATE accounts SET held = held + {price} \
                 WHERE id = {wallet} AND balance - held >= {price}"
            ),
        )?;
        let hold: IdRow = sql_query(format!(
            "INSERT INTO holds (bank_id, account_id, asset, amount, status, memo, reference, actor, \
             expires_at, created_at) VALUES ({bank}, {wallet}, 'POINTS', {price}, 'pending', \
             '积分超市兑换: 1 × {name}', 'order:{order}', '{placed_by}', {hold_expires}, {now}) \
             RETURNING id, bank_id, account_id, asset, amount, status, memo, reference, actor, \
             expires_at, created_at, resolved_at, capture_entry_id, captured_amount",
            name = goods.name,
            hold_expires = expires_at + 86_400_000_000
        ))
        .get_result(conn)?;
        sql_query(format!(
            "UPDATE orders SET hold_id = {} WHERE id = {order}",
            hold.id
        ))
        .execute(conn)?;
        // orders::get_order, then the answer kept with the key
        let (state, lines) = select_order(conn, order)?;
        sql_query(format!(
            "UPDATE idempotency_keys SET response_body = '{body}' \
             WHERE bank_id = {bank} AND idem_key = '{key}'",
            body = order_json(world, &state, &lines)
        ))
        .execute(conn)?;
        Ok(order)
    })
}

/// One pickup as `http::orders::fulfil_pickup` runs it (`shop_in_scope`, `db::orders::fulfil`,
/// `db::holds::capture_hold`, `db::ledger::post_entry`, `db::shop::record_movement`,
/// `db::ledger::get_entry`, `db::audit::created`), with literals inlined. The pickup token's
/// signature is checked before the transaction in the API and not at all here.
fn raw_fulfil(conn: &mut Db, world: &World, order: i64) -> anyhow::Result<()> {
    let (bank, shop, org) = (world.bank, world.shop, world.org_id);
    let actor = world.clerk_actor.as_str();
    db::write_tx(conn, |conn| -> anyhow::Result<()> {
        let now = db::now_micros();
        // shop_in_scope: shop::get_shop, orgs::get_org
        select_shop(conn, shop)?;
        let mut orgs: Vec<PathRow> = sql_query(format!(
            "SELECT id, code, name, kind, parent_id, path, created_at FROM orgs \
             WHERE id = {org} LIMIT 1"
        ))
        .load(conn)?;
        let path = orgs.pop().ok_or_else(|| anyhow!("org not found"))?.path;
        // the handler's get_order, then orders::fulfil's own
        select_order(conn, order)?;
        let (state, lines) = select_order(conn, order)?;
        // orders::close
        update_one(
            conn,
            "order_not_pending",
            format!(
                "UPDATE orders SET status = 'fulfilled', closed_by = '{actor}', closed_at = {now} \
                 WHERE id = {order} AND status = 'pending' AND expires_at > {now}"
            ),
        )?;
        // holds::capture_hold: the hold, the wallet, the redemption account
        let hold_id = state
            .hold_id
            .ok_or_else(|| anyhow!("order without a hold"))?;
        let hold = select_hold(conn, bank, hold_id)?;
        ensure!(
            hold.status == "pending" && now < hold.expires_at,
            "hold not capturable"
        );
        let wallet = hold.account_id;
        let amount = hold.amount;
        select_one(
            conn,
            "wallet",
            format!(
                "SELECT id, bank_id, asset, kind, name, owner_ref, balance, held, created_at, \
                 member_id FROM accounts WHERE id = {wallet} AND bank_id = {bank} LIMIT 1"
            ),
        )?;
        select_one(
            conn,
            "redemption account",
            format!(
                "SELECT id, bank_id, asset, kind, name, owner_ref, balance, held, created_at, \
                 member_id FROM accounts WHERE bank_id = {bank} AND asset = 'POINTS' \
                 AND kind = 'redemption' LIMIT 1"
            ),
        )?;
        // holds::finish_hold
        update_one(
            conn,
            "hold_not_pending",
            format!(
                "UPDATE holds SET status = 'captured', resolved_at = {now}, \
                 capture_entry_id = NULL, captured_amount = NULL \
                 WHERE id = {hold_id} AND status = 'pending'"
            ),
        )?;
        sql_query(format!(
            "UPDATE accounts SET held = held - {amount} WHERE id = {wallet}"
        ))
        .execute(conn)?;
        // ledger::post_entry: the entry, per line in account-id order the wallet debit
        // (wallets only) and the posting, then the unsealed marker
        let memo = order_memo(&lines);
        let entry: IdRow = sql_query(format!(
            "INSERT INTO entries (bank_id, kind, memo, reference, actor, reverses_entry_id, \
             created_at, rule_id, origin) VALUES ({bank}, 'redeem', '{memo}', 'order:{order}', \
             '{actor}', NULL, {now}, NULL, 'redemption') RETURNING id, bank_id, kind, memo, \
             reference, actor, reverses_entry_id, created_at, rule_id, origin"
        ))
        .get_result(conn)?;
        let entry = entry.id;
        let mut postings = [(world.redemption, amount, false), (wallet, -amount, true)];
        postings.sort_by_key(|p| p.0);
        for (account, delta, is_wallet) in postings {
            let balance_after = if is_wallet {
                let row: BalanceRow = sql_query(format!(
                    "UPDATE accounts SET balance = balance - {amount} \
                     WHERE id = {account} AND balance - held >= {amount} RETURNING balance"
                ))
                .get_result(conn)?;
                row.balance.to_string()
            } else {
                "NULL".to_string()
            };
            sql_query(format!(
                "INSERT INTO postings (bank_id, entry_id, account_id, asset, amount, balance_after, \
                 created_at) VALUES ({bank}, {entry}, {account}, 'POINTS', {delta}, \
                 {balance_after}, {now}) RETURNING id, bank_id, entry_id, account_id, asset, \
                 amount, balance_after, created_at"
            ))
            .execute(conn)?;
        }
        sql_query(format!(
            "INSERT INTO entry_seals (entry_id, bank_id) VALUES ({entry}, {bank})"
        ))
        .execute(conn)?;
        sql_query(format!(
            "UPDATE holds SET capture_entry_id = {entry}, captured_amount = {amount} \
             WHERE id = {hold_id}"
        ))
        .execute(conn)?;
        select_hold(conn, bank, hold_id)?;
        sql_query(format!(
            "UPDATE orders SET entry_id = {entry} WHERE id = {order}"
        ))
        .execute(conn)?;
        // shop::record_movement per line: the goods leave the shelf and their reservation
        for line in &lines {
            let (g, q) = (line.goods_id, line.quantity);
            select_goods(conn, g)?;
            update_one(
                conn,
                "out_of_stock",
                format!(
                    "UPDATE goods SET stock = stock + -{q}, reserved = reserved + -{q} \
                     WHERE id = {g} AND reserved >= {q}"
                ),
            )?;
            select_one(
                conn,
                "stock movement",
                format!(
                    "INSERT INTO stock_movements (goods_id, shop_id, kind, quantity, donor_name, \
                     donor_value_fen, note, order_id, actor, created_at) VALUES ({g}, {shop}, \
                     'redemption', -{q}, NULL, NULL, '', {order}, '{actor}', {now}) \
                     RETURNING id, goods_id, shop_id, kind, quantity, donor_name, \
                     donor_value_fen, note, order_id, actor, created_at"
                ),
            )?;
        }
        // orders::get_order, ledger::get_entry
        let (state, lines) = select_order(conn, order)?;
        select_one(
            conn,
            "entry",
            format!(
                "SELECT id, bank_id, kind, memo, reference, actor, reverses_entry_id, created_at, \
                 rule_id, origin FROM entries WHERE id = {entry} AND bank_id = {bank} LIMIT 1"
            ),
        )?;
        let written: Vec<IdRow> = sql_query(format!(
            "SELECT id, bank_id, entry_id, account_id, asset, amount, balance_after, created_at \
             FROM postings WHERE entry_id = {entry} ORDER BY id"
        ))
        .load(conn)?;
        ensure!(
            written.len() == 2,
            "entry {entry} has {} postings",
            written.len()
        );
        let _: Vec<IdRow> = sql_query(format!(
            "SELECT id FROM entries WHERE reverses_entry_id = {entry} LIMIT 1"
        ))
        .load(conn)?;
        // audit::created (the request id is the middleware's UUID)
        sql_query(format!(
            "INSERT INTO audit_log (at, actor, action, target, org_path, client_ip, request_id, \
             before_json, after_json) VALUES ({at}, '{actor}', 'order.fulfil', 'order:{order}', \
             '{path}', '127.0.0.1', '{request_id}', NULL, '{body}')",
            at = db::now_micros(),
            path = path.replace('\'', "''"),
            request_id = uuid::Uuid::new_v4(),
            body = order_json(world, &state, &lines),
        ))
        .execute(conn)?;
        Ok(())
    })
}

/// Shared by every worker of a backend: the next redemption number (round-robin over members
/// and goods, unique idempotency keys) and how many orders were placed and fulfilled in total.
#[derive(Default)]
struct Counters {
    next: AtomicU64,
    placed: AtomicU64,
    fulfilled: AtomicU64,
}

/// The next redemption in raw SQL: the place transaction, then the fulfil transaction.
fn raw_redemption(conn: &mut Db, world: &World, counters: &Counters) -> anyhow::Result<()> {
    let n = counters.next.fetch_add(1, Ordering::Relaxed);
    let (member, goods) = world.pick(n);
    let order = raw_place(conn, world, member, goods, n)?;
    counters.placed.fetch_add(1, Ordering::Relaxed);
    raw_fulfil(conn, world, order)?;
    counters.fulfilled.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (a) Redemptions through the HTTP API
// ---------------------------------------------------------------------------------------------

/// `common::post` of a JSON value, with the answer read as JSON.
async fn post(
    client: &reqwest::Client,
    (url, token): (&str, &str),
    body: &Value,
    idempotency_key: bool,
) -> Result<(u16, Value), String> {
    let (status, bytes) =
        common::post(client, url, token, body.to_string(), idempotency_key).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// Where the API's shop endpoints are, and the clerk's token.
struct Counter {
    orders_url: String,
    pickups_url: String,
    clerk_token: String,
}

/// A member orders one item; answers the order's id and pickup token.
async fn api_order(
    client: &reqwest::Client,
    counter: &Counter,
    shop: i64,
    member: &Member,
    goods: &Goods,
) -> Result<(u16, Value), String> {
    let body = json!({"shop_id": shop, "lines": [{"goods_id": goods.id, "quantity": 1}]});
    post(client, (&counter.orders_url, &member.token), &body, true).await
}

/// The clerk scans the order's pickup token.
async fn api_pickup(
    client: &reqwest::Client,
    counter: &Counter,
    pickup_token: &str,
) -> Result<(), String> {
    let body = json!({ "pickup": pickup_token });
    let at = (counter.pickups_url.as_str(), counter.clerk_token.as_str());
    match post(client, at, &body, false).await? {
        (200, answer) if answer["order"]["status"] == "fulfilled" => Ok(()),
        (status, answer) => Err(format!("pickup: {status} {answer}")),
    }
}

fn pickup_token_of(answer: &Value) -> Result<String, String> {
    answer["pickup_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("an order without a pickup token: {answer}"))
}

async fn run_api(
    counter: &Arc<Counter>,
    world: &Arc<World>,
    counters: &Arc<Counters>,
    concurrency: usize,
    options: &Options,
) -> anyhow::Result<Figures> {
    let client = common::http_client(concurrency)?;
    let window = options.run.window();
    let (counter, world, counters) = (counter.clone(), world.clone(), counters.clone());
    common::measure_clients("api", concurrency, window, move || {
        let client = client.clone();
        let (counter, world, counters) = (counter.clone(), world.clone(), counters.clone());
        async move {
            let n = counters.next.fetch_add(1, Ordering::Relaxed);
            let (member, goods) = world.pick(n);
            let (status, answer) = api_order(&client, &counter, world.shop, member, goods).await?;
            if status != 201 {
                return Err(format!("order: {status} {answer}"));
            }
            counters.placed.fetch_add(1, Ordering::Relaxed);
            api_pickup(&client, &counter, &pickup_token_of(&answer)?).await?;
            counters.fulfilled.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// (b) Many buyers, one hot goods
// ---------------------------------------------------------------------------------------------

/// What the race for the hot goods showed.
struct RaceRow {
    backend: Backend,
    buyers: usize,
    racers: usize,
    stock: i64,
    won: usize,
    sold_out: usize,
    /// Successful orders per second, until the last item was ordered.
    orders_per_second: f64,
    /// Every buyer's answer, per second of the whole race.
    answers_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    pickups_per_second: f64,
}

/// One buyer's order in the race.
struct Attempt {
    buyer: usize,
    status: u16,
    answer: Value,
    finished: Instant,
    nanos: u64,
}

/// `racers` clients work through `jobs` (0..count), `job(i)` each, as fast as they can.
async fn race_through<F, Fut, T>(count: usize, racers: usize, job: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let done = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let tasks: Vec<_> = (0..racers)
        .map(|_| {
            let (next, job, done) = (next.clone(), job.clone(), done.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let outcome = job(i).await;
                    done.lock().unwrap_or_else(|p| p.into_inner()).push(outcome);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| anyhow!("a racer failed: {e}"))?;
    }
    let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
    Ok(std::mem::take(&mut *done))
}

#[derive(QueryableByName)]
struct WalletState {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    balance: i64,
    #[diesel(sql_type = BigInt)]
    held: i64,
}

#[derive(QueryableByName)]
struct ShelfState {
    #[diesel(sql_type = BigInt)]
    stock: i64,
    #[diesel(sql_type = BigInt)]
    reserved: i64,
    #[diesel(sql_type = BigInt)]
    logged: i64,
}

/// Every member wallet of the bank: balance and held.
async fn wallets(pool: &db::Pool, bank: i64) -> anyhow::Result<Vec<WalletState>> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        Ok(sql_query(format!(
            "SELECT id, balance, held FROM accounts \
             WHERE bank_id = {bank} AND kind = 'member' AND asset = 'POINTS'"
        ))
        .load(&mut pool.get()?)?)
    })
    .await?
}

/// Stock, reserved and what the stock log adds up to, summed over `goods`.
async fn shelf(pool: &db::Pool, goods: &[i64]) -> anyhow::Result<(i64, i64, i64)> {
    let pool = pool.clone();
    let ids = goods
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let row: ShelfState = sql_query(format!(
            "SELECT CAST(COALESCE(SUM(stock), 0) AS BIGINT) AS stock, \
             CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS reserved, \
             (SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM stock_movements \
              WHERE goods_id IN ({ids})) AS logged FROM goods WHERE id IN ({ids})"
        ))
        .get_result(&mut pool.get()?)?;
        Ok((row.stock, row.reserved, row.logged))
    })
    .await?
}

/// Checks every buyer's wallet: the winners' `price` held (or spent, once `picked_up`), the
/// others' untouched.
async fn check_buyers(
    pool: &db::Pool,
    world: &World,
    winners: &HashSet<i64>,
    picked_up: bool,
) -> anyhow::Result<()> {
    let buyers: HashSet<i64> = world.buyers.iter().map(|b| b.wallet).collect();
    let price = world.hot.price;
    let mut held_total = 0;
    for wallet in wallets(pool, world.bank).await? {
        if !buyers.contains(&wallet.id) {
            continue;
        }
        let won = winners.contains(&wallet.id);
        let expected = match (won, picked_up) {
            (true, false) => (BUYER_MINOR, price),
            (true, true) => (BUYER_MINOR - price, 0),
            (false, _) => (BUYER_MINOR, 0),
        };
        ensure!(
            (wallet.balance, wallet.held) == expected,
            "buyer wallet {} shows balance {} held {}, expected {} and {}",
            wallet.id,
            wallet.balance,
            wallet.held,
            expected.0,
            expected.1
        );
        held_total += wallet.held;
    }
    let expected_held = if picked_up {
        0
    } else {
        winners.len() as i64 * price
    };
    ensure!(
        held_total == expected_held,
        "buyers hold {held_total} in total, expected {expected_held}"
    );
    Ok(())
}

async fn run_race(
    world: &Arc<World>,
    counter: &Arc<Counter>,
    pool: &db::Pool,
    options: &Options,
    backend: Backend,
) -> anyhow::Result<RaceRow> {
    let client = common::http_client(options.racers)?;
    let started = Instant::now();
    let attempts = {
        let (client, world, counter) = (client.clone(), world.clone(), counter.clone());
        race_through(world.buyers.len(), options.racers, move |buyer| {
            let (client, world, counter) = (client.clone(), world.clone(), counter.clone());
            async move {
                let sent = Instant::now();
                let answered = api_order(
                    &client,
                    &counter,
                    world.shop,
                    &world.buyers[buyer],
                    &world.hot,
                )
                .await;
                let finished = Instant::now();
                let (status, answer) = answered.unwrap_or_else(|err| (0, json!(err)));
                Attempt {
                    buyer,
                    status,
                    answer,
                    finished,
                    nanos: (finished - sent).as_nanos() as u64,
                }
            }
        })
        .await?
    };
    let all_seconds = started.elapsed().as_secs_f64();

    let mut winners = Vec::new();
    let mut sold_out = 0;
    let mut last_win = started;
    for attempt in &attempts {
        match (attempt.status, attempt.answer["code"].as_str()) {
            (201, _) => {
                winners.push((
                    attempt.buyer,
                    pickup_token_of(&attempt.answer).map_err(|e| anyhow!(e))?,
                ));
                last_win = last_win.max(attempt.finished);
            }
            (409, Some("out_of_stock")) => sold_out += 1,
            (status, _) => bail!(
                "buyer {} got {status} {} instead of an order or out_of_stock",
                attempt.buyer,
                attempt.answer
            ),
        }
    }
    ensure!(
        winners.len() as i64 == options.stock,
        "{} orders succeeded for {} items",
        winners.len(),
        options.stock
    );
    ensure!(
        winners.len() + sold_out == world.buyers.len(),
        "answers lost: {} won, {sold_out} out_of_stock, {} buyers",
        winners.len(),
        world.buyers.len()
    );
    let stock = options.stock;
    ensure!(
        shelf(pool, &[world.hot.id]).await? == (stock, stock, stock),
        "after the race the hot goods show (stock, reserved, logged) = {:?}, expected ({stock}, {stock}, {stock})",
        shelf(pool, &[world.hot.id]).await?
    );
    let winning_wallets: HashSet<i64> = winners
        .iter()
        .map(|(buyer, _)| world.buyers[*buyer].wallet)
        .collect();
    ensure!(winning_wallets.len() == winners.len(), "a buyer won twice");
    check_buyers(pool, world, &winning_wallets, false).await?;

    // Every winner picks up.
    let picking = Instant::now();
    let tokens = Arc::new(winners.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
    let pickups = {
        let (client, counter, tokens) = (client.clone(), counter.clone(), tokens.clone());
        race_through(tokens.len(), options.racers, move |i| {
            let (client, counter, tokens) = (client.clone(), counter.clone(), tokens.clone());
            async move { api_pickup(&client, &counter, &tokens[i]).await }
        })
        .await?
    };
    let pickup_seconds = picking.elapsed().as_secs_f64();
    if let Some(Err(err)) = pickups.iter().find(|p| p.is_err()) {
        bail!("a winner's pickup failed: {err}");
    }
    ensure!(
        shelf(pool, &[world.hot.id]).await? == (0, 0, 0),
        "after the pickups the hot goods show (stock, reserved, logged) = {:?}, expected (0, 0, 0)",
        shelf(pool, &[world.hot.id]).await?
    );
    check_buyers(pool, world, &winning_wallets, true).await?;

    let mut latencies: Vec<u64> = attempts.iter().map(|a| a.nanos).collect();
    latencies.sort_unstable();
    Ok(RaceRow {
        backend,
        buyers: world.buyers.len(),
        racers: options.racers,
        stock,
        won: winners.len(),
        sold_out,
        orders_per_second: winners.len() as f64 / (last_win - started).as_secs_f64(),
        answers_per_second: attempts.len() as f64 / all_seconds,
        p50_ms: common::percentile(&latencies, 50) as f64 / 1e6,
        p99_ms: common::percentile(&latencies, 99) as f64 / 1e6,
        pickups_per_second: winners.len() as f64 / pickup_seconds,
    })
}

// ---------------------------------------------------------------------------------------------
// One backend
// ---------------------------------------------------------------------------------------------

fn race_table(rows: &[&RaceRow]) -> String {
    let mut out = String::from(
        "| backend | buyers | clients | stock | orders won | out_of_stock | won orders/s until sold out | answers/s | order p50 ms | order p99 ms | pickups/s |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.0} |\n",
            backend_name(row.backend),
            row.buyers,
            row.racers,
            row.stock,
            row.won,
            row.sold_out,
            row.orders_per_second,
            row.answers_per_second,
            row.p50_ms,
            row.p99_ms,
            row.pickups_per_second,
        ));
    }
    out
}

struct Outcome {
    rows: Vec<Row>,
    race: RaceRow,
    report: String,
}

fn run_backend(
    backend: Backend,
    options: &Options,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Outcome> {
    let database = BenchDatabase::create(backend, &options.run.postgres_url, options.run.relaxed)?;
    let (settings, target) =
        common::bench_settings(backend, &database, options.run.pool, options.run.relaxed);
    let keys = TokenKeys::new(
        settings.jwt_secret.as_bytes(),
        &settings.jwt_issuer,
        &settings.jwt_audience,
        settings.access_token_ttl_seconds,
    );
    let card_secret = settings.card_secret.clone();
    let service = Service::start(settings)?;
    println!("load average before: {}", load_average());

    let started = Instant::now();
    let world = {
        let mut conn = service.pool.get()?;
        let world = setup(&mut conn, options, &keys, card_secret)?;
        if backend == Backend::Postgres {
            // Autovacuum is off on the benchmark machine: give the planner statistics.
            conn.batch_execute("VACUUM ANALYZE")?;
        }
        Arc::new(world)
    };
    let client = reqwest::Client::new();
    let base = service.base();
    let admin = Api {
        token: runtime.block_on(common::login(&client, &base, ADMIN_PHONE, ADMIN_PASSWORD))?,
        base: base.clone(),
    };
    runtime.block_on(award(&client, &admin, &world, &world.members, MEMBER_MINOR))?;
    runtime.block_on(award(&client, &admin, &world, &world.buyers, BUYER_MINOR))?;
    let counter = Arc::new(Counter {
        orders_url: format!("{base}/api/v1/me/orders"),
        pickups_url: format!("{base}/api/v1/shops/{}/pickups", world.shop),
        clerk_token: runtime.block_on(common::login(
            &client,
            &base,
            CLERK_PHONE,
            CLERK_PASSWORD,
        ))?,
    });
    println!(
        "setup: bank {}, shop {}, {} goods + 1 hot, {} members, {} buyers ({:.1} s)",
        world.bank,
        world.shop,
        world.goods.len(),
        world.members.len(),
        world.buyers.len(),
        started.elapsed().as_secs_f64()
    );

    let counters = Arc::new(Counters::default());
    let mut rows = Vec::new();
    for &c in &options.run.concurrency {
        let mut raw = Figures::default();
        if options.run.wanted("raw") {
            let (world, counters) = (world.clone(), counters.clone());
            let window = options.run.window();
            raw = common::measure_threads("raw", &target, c, window, move |conn| {
                raw_redemption(conn, &world, &counters)
            })?;
            println!("raw c={c:<3} {}", raw.line());
        }
        let mut api = Figures::default();
        if options.run.wanted("api") {
            api = runtime.block_on(run_api(&counter, &world, &counters, c, options))?;
            println!("api c={c:<3} {}", api.line());
        }
        rows.push(Row {
            backend,
            concurrency: c,
            raw,
            api,
        });
    }
    let race = runtime.block_on(run_race(&world, &counter, &service.pool, options, backend))?;
    println!(
        "race: {} of {} buyers won, {} out_of_stock; {:.0} won orders/s until sold out, \
         {:.0} answers/s, order p50 {:.2} ms p99 {:.2} ms; {:.0} pickups/s",
        race.won,
        race.buyers,
        race.sold_out,
        race.orders_per_second,
        race.answers_per_second,
        race.p50_ms,
        race.p99_ms,
        race.pickups_per_second
    );
    println!("load average after: {}", load_average());
    let report = runtime.block_on(check(&client, &admin, &service, &world, &counters, &race))?;
    println!("{report}");
    drop(service);
    drop(database);
    Ok(Outcome { rows, race, report })
}

/// After the run: the bank verifies clean once sealed, and the books, the wallets and the
/// shelf hold exactly what the completed redemptions say.
async fn check(
    client: &reqwest::Client,
    api: &Api,
    service: &Service,
    world: &World,
    counters: &Counters,
    race: &RaceRow,
) -> anyhow::Result<String> {
    let (report, waited) = common::wait_verified(client, api, world.bank).await?;
    let placed = counters.placed.load(Ordering::Relaxed) as i64;
    let fulfilled = counters.fulfilled.load(Ordering::Relaxed) as i64;
    let pending = placed - fulfilled;
    let (bank, shop, hot) = (world.bank, world.shop, world.hot.id);
    let pool = &service.pool;
    let count_orders = |status: &str| {
        common::total(
            pool,
            format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS total FROM orders \
                 WHERE shop_id = {shop} AND status = '{status}' AND id NOT IN \
                 (SELECT order_id FROM order_lines WHERE goods_id = {hot})"
            ),
        )
    };
    let (db_fulfilled, db_pending) = (
        count_orders("fulfilled").await?,
        count_orders("pending").await?,
    );
    ensure!(
        (db_fulfilled, db_pending) == (fulfilled, pending),
        "the shop has {db_fulfilled} fulfilled and {db_pending} pending orders; the clients saw \
         {fulfilled} fulfilled of {placed} placed"
    );
    let goods: Vec<i64> = world.goods.iter().map(|g| g.id).collect();
    let expected_shelf = (
        goods.len() as i64 * AMPLE_STOCK - fulfilled,
        pending,
        goods.len() as i64 * AMPLE_STOCK - fulfilled,
    );
    let on_shelf = shelf(pool, &goods).await?;
    ensure!(
        on_shelf == expected_shelf,
        "the goods show (stock, reserved, logged) = {on_shelf:?}, expected {expected_shelf:?}"
    );
    let members: HashSet<i64> = world.members.iter().map(|m| m.wallet).collect();
    let (mut balance, mut held) = (0, 0);
    for wallet in wallets(pool, bank).await? {
        if members.contains(&wallet.id) {
            balance += wallet.balance;
            held += wallet.held;
        }
    }
    let expected_balance = world.members.len() as i64 * MEMBER_MINOR - fulfilled * PRICE_MINOR;
    ensure!(
        (balance, held) == (expected_balance, pending * PRICE_MINOR),
        "members' wallets sum to {} with {} held, expected {} with {} held",
        Amount::from_minor(balance),
        Amount::from_minor(held),
        Amount::from_minor(expected_balance),
        Amount::from_minor(pending * PRICE_MINOR)
    );
    let redemption = common::get_json(
        client,
        api,
        &format!("/api/v1/banks/{bank}/accounts/{}", world.redemption),
    )
    .await?;
    let redeemed = fulfilled * PRICE_MINOR + race.won as i64 * world.hot.price;
    ensure!(
        redemption["balance"] == Amount::from_minor(redeemed).to_string(),
        "the redemption account shows {}, expected {}",
        redemption["balance"],
        Amount::from_minor(redeemed)
    );
    let redeem_entries = common::total(
        pool,
        format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS total FROM entries \
             WHERE bank_id = {bank} AND kind = 'redeem'"
        ),
    )
    .await?;
    ensure!(
        redeem_entries == fulfilled + race.won as i64,
        "{redeem_entries} redeem entries for {} pickups",
        fulfilled + race.won as i64
    );
    Ok(format!(
        "{}: verify ok=true after {waited:.1} s wait ({} entries checked, {} seals); \
         {fulfilled} redemptions of {placed} orders + {} hot items: orders, stock, reserved, \
         stock log, wallets, holds and redemption account {}: exact",
        backend_name(race.backend),
        report["entries_checked"],
        report["seals_checked"],
        race.won,
        Amount::from_minor(redeemed),
    ))
}
