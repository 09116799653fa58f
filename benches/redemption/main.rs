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

mod api;
#[path = "../common/mod.rs"]
mod common;
mod race;
mod raw;
mod world;

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
use pointsbank::db::schema::accounts;
use pointsbank::db::{self, Backend, Db};
use pointsbank::domain::access::Role;
use pointsbank::domain::ledger::money::Amount;
use pointsbank::domain::ledger::{AccountKind, Asset};
use pointsbank::domain::shop::MovementKind;
use pointsbank::error::ServiceResult;
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

use api::*;
use race::*;
use raw::*;
use world::*;

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
    let keys = common::token_keys(&settings);
    let service = Service::start(settings)?;
    println!("load average before: {}", load_average());

    let started = Instant::now();
    let world = {
        let mut conn = service.pool.get()?;
        let world = setup(&mut conn, options, &keys)?;
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
            raw_threads: c,
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
