//! The ledger benchmark: awards through the HTTP API against the raw SQL ceiling of the same
//! transaction, on SQLite and PostgreSQL, in one run and on one database per backend.
//!
//! ```sh
//! cargo bench --bench ledger -- [--backend sqlite|postgres|both] [--seconds N]
//! ```
//!
//! For each backend it creates a fresh database, starts the real service in-process
//! (`pointsbank::app::start`), creates an admin, a bank and `--wallets` member wallets, then for
//! each concurrency `c`:
//!
//! * **raw**: `c` OS threads, each with its own connection, run exactly the statements the API's
//!   award transaction issues (bank scope lookup, idempotency lookup and claim, account lookup,
//!   entry, capped wallet credit, two postings, unsealed marker, audit row, idempotency
//!   response), one award per `write_tx` transaction, in a tight loop;
//! * **api**: `c` keep-alive HTTP clients `POST /api/v1/banks/{bank}/entries` (kind `award`, one
//!   `Idempotency-Key` per request).
//!
//! Every award moves 1.00 point from the bank's single issuance account to the next wallet
//! (round-robin). Throughput counts the calls completed inside the measured window; p50/p99 are
//! exact nearest-rank percentiles over every call that completed after the window opened (so a
//! call starved through the whole window still counts). At the end it checks that the bank
//! verifies clean once everything is sealed and that the book holds exactly what was awarded;
//! any mismatch fails the run.

mod common;

use common::{BalanceRow, IdRow, PathRow};

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, ensure};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Nullable};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use pointsbank::auth::password::hash_password;
use pointsbank::clock::{Clock, SystemClock};
use pointsbank::db::{self, Backend, Db, DbTarget};
use pointsbank::domain::ledger::money::{Amount, MAX_WALLET_MINOR};
use pointsbank::domain::ledger::{AccountKind, Asset};
use serde_json::json;

use common::{
    backend_name, load_average, Api, BenchDatabase, Figures, Row, Service, Tally, Window,
    ADMIN_PASSWORD, ADMIN_PHONE,
};

const USAGE: &str = "usage: cargo bench --bench ledger -- [--backend sqlite|postgres|both] \
[--seconds N] [--warmup N] [--wallets N] [--concurrency 1,16,64] [--relaxed] [--only raw|api] [--pool N]
  --relaxed  commits without waiting for the disk (SQLite synchronous=NORMAL, PostgreSQL
             synchronous_commit=off), for raw and API alike: shows the CPU-bound picture
  --only     measure one side only (for profiling)
  --pool     the service's database pool size (default 8 on SQLite, 16 on PostgreSQL)
PostgreSQL admin URL: PB_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)";

/// Every award moves 1.00 point (100 minor units).
const AWARD_MINOR: i64 = 100;
const MEMO: &str = "巡河 2 小时";

struct Options {
    run: common::RunOptions,
    wallets: usize,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut run = common::RunOptions::default();
        let mut wallets = 2000;
        common::parse_flags(&mut run, args, &["--relaxed"], |flag, value| {
            if flag != "--wallets" {
                return Ok(false);
            }
            wallets = common::positive_integer(flag, &common::value_of(flag, value)?)?;
            Ok(true)
        })?;
        Ok(Options { run, wallets })
    }
}

impl common::WithRunOptions for Options {
    fn run_options(&self) -> &common::RunOptions {
        &self.run
    }
}

fn main() -> ExitCode {
    let parsed = Options::parse(std::env::args().skip(1));
    common::run_tabled(
        parsed,
        USAGE,
        "awards",
        |options| {
            format!(
                "ledger benchmark: {}; {} wallets",
                options.run.describe(),
                options.wallets
            )
        },
        run_backend,
    )
}

// ---------------------------------------------------------------------------------------------
// The bank
// ---------------------------------------------------------------------------------------------

/// The bank every award goes to.
struct Ledger {
    bank: i64,
    issuance: i64,
    wallets: Vec<i64>,
    actor: String,
}

fn setup(conn: &mut Db, wallets: usize) -> anyhow::Result<Ledger> {
    let hash = hash_password(ADMIN_PASSWORD)?;
    db::write_tx(conn, |c| {
        let now = SystemClock.now_micros();
        let village = common::create_village(c, &hash)?;
        let bank_id = village.bank_id;
        let issuance =
            db::ledger::accounts::system_account(c, bank_id, Asset::Points, AccountKind::Issuance)?;
        let mut ids = Vec::with_capacity(wallets);
        for i in 0..wallets {
            let name = format!("志愿者 {i}");
            let owner = format!("member:{i}");
            let row = db::ledger::accounts::open_member_account(
                c,
                bank_id,
                Asset::Points,
                &name,
                Some(&owner),
                now,
            )?;
            ids.push(row.id);
        }
        Ok(Ledger {
            bank: bank_id,
            issuance: issuance.id,
            wallets: ids,
            actor: format!("staff:{}", village.staff_id),
        })
    })
    .map_err(|e: pointsbank::error::ServiceError| anyhow!("setup failed: {e:?}"))
}

/// Shared by every worker of a backend: the next award number (round-robin over wallets, and
/// unique idempotency keys) and how many awards were committed in total (for the exactness check).
struct Counters {
    next: AtomicU64,
    awarded: AtomicU64,
}
// ---------------------------------------------------------------------------------------------
// (a) The raw SQL ceiling
// ---------------------------------------------------------------------------------------------

#[derive(QueryableByName)]
struct PostingRet {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    balance_after: Option<i64>,
}

/// One award as the API's transaction issues it (see `service::ledger::entries::post_entry`,
/// `service::access::Guard::bank`, `db::idempotency::once`, `db::ledger::resolve_lines`,
/// `db::ledger::post_entry` and `db::access::audit::created`), with literals inlined. Only integers and fixed text go into the SQL.
/// Keep it in step with those functions when the award path changes.
fn raw_award(conn: &mut Db, ledger: &Ledger, n: u64) -> anyhow::Result<()> {
    let bank = ledger.bank;
    let issuance = ledger.issuance;
    let wallet = ledger.wallets[(n % ledger.wallets.len() as u64) as usize];
    let key = format!("raw-{n}");
    let request_hash = format!("{n:064x}");
    db::write_tx(conn, |conn| -> anyhow::Result<()> {
        let now = SystemClock.now_micros();
        // the access guard: banks::bank_path (the caller's grants travel in the token)
        let found: Vec<PathRow> = sql_query(format!(
            "SELECT orgs.path FROM banks INNER JOIN orgs ON orgs.id = banks.org_id \
             WHERE banks.id = {bank} LIMIT 1"
        ))
        .load(conn)?;
        ensure!(
            found.len() == 1 && !found[0].path.is_empty(),
            "bank not found"
        );
        let path = found[0].path.replace('\'', "''");
        common::raw_claim_key(conn, bank, &key, &request_hash, now)?;
        // ledger::resolve_lines
        let accounts: Vec<IdRow> = sql_query(format!(
            "SELECT id, bank_id, asset, kind, name, owner_ref, balance, held, created_at \
             FROM accounts WHERE bank_id = {bank} AND id IN ({issuance}, {wallet})"
        ))
        .load(conn)?;
        ensure!(accounts.len() == 2, "accounts not found");
        // ledger::post_entry: the entry, then per line in account-id order the wallet credit
        // (wallets only) and the posting, then the unsealed marker.
        let entry: IdRow = sql_query(format!(
            "INSERT INTO entries (bank_id, kind, memo, reference, actor, reverses_entry_id, created_at) \
             VALUES ({bank}, 'award', '{MEMO}', NULL, '{actor}', NULL, {now}) \
             RETURNING id, bank_id, kind, memo, reference, actor, reverses_entry_id, created_at",
            actor = ledger.actor
        ))
        .get_result(conn)?;
        let mut lines = [(issuance, -AWARD_MINOR, false), (wallet, AWARD_MINOR, true)];
        lines.sort_by_key(|line| line.0);
        let mut postings = Vec::with_capacity(2);
        for (account, amount, is_wallet) in lines {
            let balance_after = if is_wallet {
                // ledger::apply_to_wallet: the credit, refused above the wallet cap
                let row: BalanceRow = sql_query(format!(
                    "UPDATE accounts SET balance = balance + {amount} \
                     WHERE id = {account} AND balance <= {cap} RETURNING balance",
                    cap = MAX_WALLET_MINOR - amount
                ))
                .get_result(conn)?;
                row.balance.to_string()
            } else {
                "NULL".to_string()
            };
            let posting: PostingRet = sql_query(format!(
                "INSERT INTO postings (bank_id, entry_id, account_id, asset, amount, balance_after, created_at) \
                 VALUES ({bank}, {entry}, {account}, 'POINTS', {amount}, {balance_after}, {now}) \
                 RETURNING id, bank_id, entry_id, account_id, asset, amount, balance_after, created_at",
                entry = entry.id
            ))
            .get_result(conn)?;
            postings.push((posting, account, amount));
        }
        sql_query(format!(
            "INSERT INTO entry_seals (entry_id, bank_id) VALUES ({entry}, {bank})",
            entry = entry.id
        ))
        .execute(conn)?;
        // the use-case's record of the entry (db::ledger::EntryRecord), audited, then kept with
        // the key
        let body = json!({
            "entry": {
                "id": entry.id, "bank_id": bank, "kind": "award", "memo": MEMO, "reference": null,
                "actor": ledger.actor, "reverses_entry_id": null, "created_at": now,
                "rule_id": null, "origin": null,
            },
            "postings": postings.iter().map(|(p, account, amount)| json!({
                "id": p.id, "bank_id": bank, "entry_id": entry.id, "account_id": account,
                "asset": "POINTS", "amount": amount, "balance_after": p.balance_after,
                "created_at": now,
            })).collect::<Vec<_>>(),
            "reversed_by": null,
        })
        .to_string()
        .replace('\'', "''");
        // audit::created (the request id is the middleware's UUID)
        sql_query(format!(
            "INSERT INTO audit_log (at, actor, action, target, org_path, client_ip, request_id, \
             before_json, after_json) VALUES ({at}, '{actor}', 'entry.post', 'entry:{entry}', \
             '{path}', '127.0.0.1', '{request_id}', NULL, '{body}')",
            at = SystemClock.now_micros(),
            actor = ledger.actor,
            entry = entry.id,
            request_id = uuid::Uuid::new_v4(),
        ))
        .execute(conn)?;
        // idempotency::once: keep the response with the key
        sql_query(format!(
            "UPDATE idempotency_keys SET response_body = '{body}' \
             WHERE bank_id = {bank} AND caller = 'bench' AND idem_key = '{key}'"
        ))
        .execute(conn)?;
        Ok(())
    })
}

fn run_raw(
    target: &DbTarget,
    ledger: &Arc<Ledger>,
    counters: &Arc<Counters>,
    concurrency: usize,
    options: &Options,
) -> anyhow::Result<Figures> {
    let (ledger, counters) = (ledger.clone(), counters.clone());
    let window = options.run.window();
    common::measure_threads("raw", target, concurrency, window, move |conn| {
        let n = counters.next.fetch_add(1, Ordering::Relaxed);
        raw_award(conn, &ledger, n)?;
        counters.awarded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// (b) Awards through the HTTP API
// ---------------------------------------------------------------------------------------------

async fn api_award(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: String,
) -> Result<(), String> {
    let (status, bytes) = common::post(client, url, token, body, true).await?;
    if status != 201 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
    }
    Ok(())
}

/// One client calling `GET path` in a loop for a second: the cost of a call that does no work.
async fn run_probe(api: &Api, path: &str, options: &Options) -> anyhow::Result<Figures> {
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let url = format!("{}{path}", api.base);
    let window = Window::new(options.run.warmup.min(0.5), options.run.seconds.min(1.0));
    let mut tally = Tally::default();
    loop {
        let started = Instant::now();
        if started >= window.until {
            break;
        }
        match client.get(&url).send().await {
            Ok(response) if response.status().is_success() => {
                let _ = response.bytes().await;
                tally.done(&window, started, Instant::now());
            }
            Ok(response) => tally.failed(format!("GET {path}: {}", response.status())),
            Err(err) => tally.failed(format!("GET {path}: {err}")),
        }
    }
    let tally = Tally::merge(vec![tally]);
    tally.report_errors(path);
    Ok(Figures::of(&tally, &window))
}

async fn run_api(
    api: &Api,
    ledger: &Arc<Ledger>,
    counters: &Arc<Counters>,
    concurrency: usize,
    options: &Options,
) -> anyhow::Result<Figures> {
    let client = common::http_client(concurrency)?;
    let url = Arc::new(format!("{}/api/v1/banks/{}/entries", api.base, ledger.bank));
    let token = Arc::new(api.token.clone());
    let window = options.run.window();
    let (ledger, counters) = (ledger.clone(), counters.clone());
    common::measure_clients("api", concurrency, window, move || {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        let (ledger, counters) = (ledger.clone(), counters.clone());
        async move {
            let n = counters.next.fetch_add(1, Ordering::Relaxed);
            let wallet = ledger.wallets[(n % ledger.wallets.len() as u64) as usize];
            let body = format!(
                r#"{{"kind":"award","memo":"{MEMO}","postings":[{{"account_id":{},"amount":"-1.00"}},{{"account_id":{wallet},"amount":"1.00"}}]}}"#,
                ledger.issuance
            );
            api_award(&client, &url, &token, body).await?;
            counters.awarded.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// One backend
// ---------------------------------------------------------------------------------------------

fn run_backend(
    backend: Backend,
    options: &Options,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<(Vec<Row>, String)> {
    let database = BenchDatabase::create(backend, &options.run.postgres_url, options.run.relaxed)?;
    let (settings, target) =
        common::bench_settings(backend, &database, options.run.pool, options.run.relaxed);
    let service = Service::start(settings)?;
    println!("load average before: {}", load_average());

    let started = Instant::now();
    let ledger = {
        let mut conn = service.pool.get()?;
        let ledger = setup(&mut conn, options.wallets)?;
        if backend == Backend::Postgres {
            // Autovacuum is off on the benchmark machine: give the planner statistics.
            conn.batch_execute("VACUUM ANALYZE")?;
        }
        Arc::new(ledger)
    };
    let client = reqwest::Client::new();
    let base = service.base();
    let token = runtime.block_on(common::login(&client, &base, ADMIN_PHONE, ADMIN_PASSWORD))?;
    let api = Api { base, token };
    println!(
        "setup: bank {}, issuance account {}, {} wallets ({:.1} s)",
        ledger.bank,
        ledger.issuance,
        ledger.wallets.len(),
        started.elapsed().as_secs_f64()
    );

    // The floor under every API call: the HTTP round trip alone, then with the hop to the
    // blocking pool and a pooled connection (`/readyz` runs `SELECT 1`).
    let wanted = |side: &str| options.run.wanted(side);
    if wanted("api") {
        for path in ["/healthz", "/readyz"] {
            let floor = runtime.block_on(run_probe(&api, path, options))?;
            println!("GET {path:<8} c=1 {}", floor.line());
        }
    }

    let counters = Arc::new(Counters {
        next: AtomicU64::new(0),
        awarded: AtomicU64::new(0),
    });
    let mut rows = Vec::new();
    for &c in &options.run.concurrency {
        let mut raw = Figures::default();
        if wanted("raw") {
            raw = run_raw(&target, &ledger, &counters, c, options)?;
            println!("raw c={c:<3} {}", raw.line());
        }
        let mut api_figures = Figures::default();
        if wanted("api") {
            api_figures = runtime.block_on(run_api(&api, &ledger, &counters, c, options))?;
            println!("api c={c:<3} {}", api_figures.line());
        }
        rows.push(Row {
            backend,
            concurrency: c,
            raw_threads: c,
            raw,
            api: api_figures,
        });
    }

    println!("load average after: {}", load_average());
    let awarded = counters.awarded.load(Ordering::Relaxed) as i64;
    let report = runtime.block_on(check(&client, &api, &service, &ledger, awarded, backend))?;
    println!("{report}");
    drop(service);
    drop(database);
    Ok((rows, report))
}

/// After the run: the bank verifies clean once sealed, and the books hold exactly what was awarded.
async fn check(
    client: &reqwest::Client,
    api: &Api,
    service: &Service,
    ledger: &Ledger,
    awarded: i64,
    backend: Backend,
) -> anyhow::Result<String> {
    let (report, waited) = common::wait_verified(client, api, ledger.bank).await?;

    let expected = awarded * AWARD_MINOR;
    let bank = ledger.bank;
    let wallet_total = common::total(
        &service.pool,
        format!(
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM accounts \
             WHERE bank_id = {bank} AND kind = 'member'"
        ),
    )
    .await?;
    let entry_count = common::total(
        &service.pool,
        format!("SELECT CAST(COUNT(*) AS BIGINT) AS total FROM entries WHERE bank_id = {bank}"),
    )
    .await?;
    let issuance = common::get_json(
        client,
        api,
        &format!("/api/v1/banks/{}/accounts/{}", ledger.bank, ledger.issuance),
    )
    .await?;
    let issuance_balance: Amount = issuance["balance"]
        .as_str()
        .ok_or_else(|| anyhow!("issuance account without a balance: {issuance}"))?
        .parse()
        .map_err(|e| anyhow!("issuance balance unreadable: {e:?}"))?;

    ensure!(
        entry_count == awarded,
        "{} entries in the book, {awarded} awards committed",
        entry_count
    );
    ensure!(
        wallet_total == expected,
        "wallets hold {} but {awarded} awards of {} were committed ({})",
        Amount::from_minor(wallet_total),
        Amount::from_minor(AWARD_MINOR),
        Amount::from_minor(expected)
    );
    ensure!(
        issuance_balance.minor() == -expected,
        "issuance account shows {issuance_balance}, expected -{}",
        Amount::from_minor(expected)
    );
    Ok(format!(
        "{}: verify ok=true after {:.1} s wait ({} entries checked, {} seals, head {}); \
         {awarded} awards committed, wallets sum {} = {awarded} x {}, issuance {}: exact",
        backend_name(backend),
        waited,
        report["entries_checked"],
        report["seals_checked"],
        report["head_hash"].as_str().unwrap_or("?"),
        Amount::from_minor(wallet_total),
        Amount::from_minor(AWARD_MINOR),
        issuance_balance,
    ))
}
