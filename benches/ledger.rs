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

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};
use pointsbank::app;
use pointsbank::auth::password::hash_password;
use pointsbank::config::Settings;
use pointsbank::db::{self, connection, Backend, Db, DbTarget};
use pointsbank::domain::ledger::{AccountKind, Asset};
use pointsbank::domain::money::{Amount, MAX_WALLET_MINOR};
use pointsbank::http::types::timestamp;
use serde_json::{json, Value};

const USAGE: &str = "usage: cargo bench --bench ledger -- [--backend sqlite|postgres|both] \
[--seconds N] [--warmup N] [--wallets N] [--concurrency 1,16,64] [--relaxed] [--only raw|api] [--pool N]
  --relaxed  commits without waiting for the disk (SQLite synchronous=NORMAL, PostgreSQL
             synchronous_commit=off), for raw and API alike: shows the CPU-bound picture
  --only     measure one side only (for profiling)
  --pool     the service's database pool size (default 8 on SQLite, 16 on PostgreSQL)
PostgreSQL admin URL: PB_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)";

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const ADMIN_PHONE: &str = "13900000000";
const ADMIN_PASSWORD: &str = "bench-admin-password";
/// Every award moves 1.00 point (100 minor units).
const AWARD_MINOR: i64 = 100;
const MEMO: &str = "巡河 2 小时";

struct Options {
    backends: Vec<Backend>,
    seconds: f64,
    warmup: f64,
    wallets: usize,
    concurrency: Vec<usize>,
    relaxed: bool,
    only: Option<String>,
    pool: Option<u32>,
    postgres_url: String,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            seconds: 3.0,
            warmup: 0.5,
            wallets: 2000,
            concurrency: vec![1, 16, 64],
            relaxed: false,
            only: None,
            pool: None,
            postgres_url: std::env::var("PB_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string()),
        };
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            // `cargo bench` passes `--bench` to every bench binary.
            if flag == "--bench" {
                continue;
            }
            if flag == "--relaxed" {
                options.relaxed = true;
                continue;
            }
            let mut value = || -> Result<String, String> {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--backend" => {
                    options.backends = match value()?.as_str() {
                        "sqlite" => vec![Backend::Sqlite],
                        "postgres" => vec![Backend::Postgres],
                        "both" => vec![Backend::Sqlite, Backend::Postgres],
                        other => return Err(format!("unknown backend `{other}`")),
                    }
                }
                "--only" => {
                    let side = value()?;
                    if side != "raw" && side != "api" {
                        return Err("--only takes raw or api".into());
                    }
                    options.only = Some(side)
                }
                "--pool" => {
                    options.pool = Some(
                        value()?
                            .parse()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or("--pool needs a positive integer")?,
                    )
                }
                "--seconds" => options.seconds = positive(&flag, &value()?)?,
                "--warmup" => options.warmup = positive(&flag, &value()?)?,
                "--wallets" => {
                    options.wallets = value()?
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or("--wallets needs a positive integer")?
                }
                "--concurrency" => {
                    options.concurrency = value()?
                        .split(',')
                        .map(|c| c.trim().parse().ok().filter(|c: &usize| *c > 0))
                        .collect::<Option<Vec<usize>>>()
                        .ok_or("--concurrency needs a list like 1,16,64")?
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(options)
    }
}

fn positive(flag: &str, text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| format!("{flag} needs a positive number of seconds"))
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
        .with_target(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "ledger benchmark: {} s per measurement after {} s warm-up, {} wallets, concurrency {:?}, \
         {} durability, {cpus} CPUs, load average {}",
        options.seconds,
        options.warmup,
        options.wallets,
        options.concurrency,
        if options.relaxed { "relaxed" } else { "full" },
        load_average()
    );
    let mut rows = Vec::new();
    let mut reports = Vec::new();
    let mut failed = false;
    for &backend in &options.backends {
        println!("\n== {} ==", backend_name(backend));
        match run_backend(backend, &options, &runtime) {
            Ok((backend_rows, report)) => {
                rows.extend(backend_rows);
                reports.push(report);
            }
            Err(err) => {
                eprintln!("{}: FAILED: {err:#}", backend_name(backend));
                failed = true;
            }
        }
    }

    println!("\n{}", table(&rows));
    for report in &reports {
        println!("{report}");
    }
    if failed {
        eprintln!("\nbenchmark FAILED (see above)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

// ---------------------------------------------------------------------------------------------
// Database and service
// ---------------------------------------------------------------------------------------------

/// A fresh database: a SQLite file in a temp dir, or a PostgreSQL database dropped on drop.
struct BenchDatabase {
    url: String,
    dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

impl BenchDatabase {
    fn create(
        backend: Backend,
        postgres_url: &str,
        relaxed: bool,
    ) -> anyhow::Result<BenchDatabase> {
        let dir = tempfile::tempdir().context("temp dir")?;
        match backend {
            Backend::Sqlite => Ok(BenchDatabase {
                url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                dir,
                pg_drop: None,
            }),
            Backend::Postgres => {
                let name = format!("pb_bench_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(postgres_url)
                    .with_context(|| format!("connecting to {postgres_url}"))?;
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .context("CREATE DATABASE")?;
                if relaxed {
                    // Every connection to it, the service's and the raw loop's, inherits this.
                    admin
                        .batch_execute(&format!(
                            "ALTER DATABASE {name} SET synchronous_commit = off"
                        ))
                        .context("ALTER DATABASE")?;
                }
                let (base, _) = postgres_url
                    .rsplit_once('/')
                    .ok_or_else(|| anyhow!("PostgreSQL URL without a database name"))?;
                Ok(BenchDatabase {
                    url: format!("{base}/{name}"),
                    dir,
                    pg_drop: Some((postgres_url.to_string(), name)),
                })
            }
        }
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take() {
            match diesel::PgConnection::establish(&admin_url) {
                Ok(mut admin) => {
                    if let Err(err) =
                        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    {
                        eprintln!("could not drop {name}: {err}");
                    }
                }
                Err(err) => eprintln!("could not drop {name}: {err}"),
            }
        }
    }
}

/// The real service, driven by an actix `System` on its own thread.
struct Service {
    port: u16,
    pool: db::Pool,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    upkeep: Option<pointsbank::worker::Upkeep>,
}

impl Service {
    fn start(settings: Settings) -> anyhow::Result<Service> {
        type Started = (
            u16,
            db::Pool,
            pointsbank::worker::Upkeep,
            actix_web::dev::ServerHandle,
        );
        let (tx, rx) = mpsc::channel::<anyhow::Result<Started>>();
        let thread = std::thread::Builder::new()
            .name("pb-bench-server".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    match app::start(settings) {
                        Ok(running) => {
                            let app::Running {
                                port,
                                server,
                                upkeep,
                                pool,
                            } = running;
                            let handle = server.handle();
                            let _ = tx.send(Ok((port, pool, upkeep, handle)));
                            if let Err(err) = server.await {
                                eprintln!("server stopped with an error: {err}");
                            }
                        }
                        Err(err) => {
                            let _ = tx.send(Err(err));
                        }
                    }
                })
            })?;
        let (port, pool, upkeep, handle) = rx
            .recv()
            .map_err(|_| anyhow!("server thread died while starting"))??;
        Ok(Service {
            port,
            pool,
            handle,
            thread: Some(thread),
            upkeep: Some(upkeep),
        })
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // Sends the stop command at once; the server thread returns when the workers are gone.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        drop(self.upkeep.take());
    }
}

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
        let now = db::now_micros();
        let staff = db::staff::create_staff(c, ADMIN_PHONE, "Bench Admin", &hash, "admin", now)?;
        db::staff::add_grant(
            c,
            staff.id,
            pointsbank::domain::access::Role::PlatformAdmin,
            None,
            "bench",
            now,
        )?;
        let org = db::orgs::create_org(
            c,
            db::orgs::NewOrg {
                code: "bench",
                name: "青山村",
                kind: db::orgs::OrgKind::Village,
                parent: None,
            },
            now,
        )?;
        let bank = db::banks::create_bank(c, org.id, "青山村积分银行", now)?;
        let issuance =
            db::accounts::system_account(c, bank.id, Asset::Points, AccountKind::Issuance)?;
        let mut ids = Vec::with_capacity(wallets);
        for i in 0..wallets {
            let name = format!("志愿者 {i}");
            let owner = format!("member:{i}");
            let row = db::accounts::open_member_account(
                c,
                bank.id,
                Asset::Points,
                &name,
                Some(&owner),
                now,
            )?;
            ids.push(row.id);
        }
        Ok(Ledger {
            bank: bank.id,
            issuance: issuance.id,
            wallets: ids,
            actor: format!("staff:{}", staff.id),
        })
    })
    .map_err(|e: pointsbank::error::ApiError| anyhow!("setup failed: {e:?}"))
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

/// One measurement window: warm-up from `start`, then `[measure_from, until]` is measured.
#[derive(Clone, Copy)]
struct Window {
    measure_from: Instant,
    until: Instant,
}

impl Window {
    fn new(warmup: f64, seconds: f64) -> Window {
        let measure_from = Instant::now() + Duration::from_secs_f64(warmup);
        Window {
            measure_from,
            until: measure_from + Duration::from_secs_f64(seconds),
        }
    }

    fn seconds(&self) -> f64 {
        (self.until - self.measure_from).as_secs_f64()
    }
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    /// How many calls completed inside the measured window (the throughput).
    in_window: usize,
    /// Durations (ns) of every call that completed after the window opened, including the
    /// last ones that finished after it closed: a call starved for the whole window still
    /// shows in the tail.
    latencies: Vec<u64>,
    /// Fewest and most calls one worker completed inside the window (how fair the queue is).
    per_worker: (usize, usize),
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn done(&mut self, window: &Window, started: Instant, finished: Instant) {
        if finished >= window.measure_from {
            self.latencies.push((finished - started).as_nanos() as u64);
            if finished <= window.until {
                self.in_window += 1;
            }
        }
    }

    fn failed(&mut self, error: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error);
        }
    }

    fn merge(tallies: Vec<Tally>) -> Tally {
        let mut all = Tally {
            per_worker: (usize::MAX, 0),
            ..Tally::default()
        };
        for tally in tallies {
            let done = tally.in_window;
            all.per_worker = (all.per_worker.0.min(done), all.per_worker.1.max(done));
            all.in_window += done;
            all.latencies.extend(tally.latencies);
            all.errors += tally.errors;
            if all.first_error.is_none() {
                all.first_error = tally.first_error;
            }
        }
        all.latencies.sort_unstable();
        all
    }
}

/// Throughput and exact latency percentiles of one measurement.
#[derive(Clone, Copy, Default)]
struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    completed: u64,
    errors: u64,
    per_worker: (usize, usize),
}

impl Figures {
    fn of(tally: &Tally, window: &Window) -> Figures {
        Figures {
            per_second: tally.in_window as f64 / window.seconds(),
            p50_ms: percentile(&tally.latencies, 50) as f64 / 1e6,
            p99_ms: percentile(&tally.latencies, 99) as f64 / 1e6,
            completed: tally.in_window as u64,
            errors: tally.errors,
            per_worker: tally.per_worker,
        }
    }
}

impl Figures {
    fn line(&self) -> String {
        format!(
            "{:>6.0}/s  p50 {:>7.2} ms  p99 {:>8.2} ms  ({} done, {} errors, \
             per worker {}..{})",
            self.per_second,
            self.p50_ms,
            self.p99_ms,
            self.completed,
            self.errors,
            self.per_worker.0,
            self.per_worker.1
        )
    }
}

/// Nearest-rank percentile of sorted values (integer arithmetic, no interpolation).
fn percentile(sorted: &[u64], pct: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

struct Row {
    backend: Backend,
    concurrency: usize,
    raw: Figures,
    api: Figures,
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| backend | c | raw awards/s | raw p50 ms | raw p99 ms | API awards/s | API p50 ms | API p99 ms | API/raw |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |\n",
            backend_name(row.backend),
            row.concurrency,
            row.raw.per_second,
            row.raw.p50_ms,
            row.raw.p99_ms,
            row.api.per_second,
            row.api.p50_ms,
            row.api.p99_ms,
            if row.raw.per_second > 0.0 {
                row.api.per_second / row.raw.per_second
            } else {
                0.0
            },
        ));
    }
    out
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
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct PathRow {
    #[diesel(sql_type = Text)]
    path: String,
}

#[derive(QueryableByName)]
struct StoredKey {
    #[diesel(sql_type = Text)]
    request_hash: String,
}

#[derive(QueryableByName)]
struct BalanceRow {
    #[diesel(sql_type = BigInt)]
    balance: i64,
}

#[derive(QueryableByName)]
struct PostingRet {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    balance_after: Option<i64>,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// One award as the API's transaction issues it (see `http::entries::post_entry`,
/// `http::access::Guard::bank`, `db::idempotency::once`, `db::ledger::resolve_lines`,
/// `db::ledger::post_entry` and `db::audit::created`), with literals inlined. Only integers and fixed text go into the SQL.
/// Keep it in step with those functions when the award path changes.
fn raw_award(conn: &mut Db, ledger: &Ledger, n: u64) -> anyhow::Result<()> {
    let bank = ledger.bank;
    let issuance = ledger.issuance;
    let wallet = ledger.wallets[(n % ledger.wallets.len() as u64) as usize];
    let key = format!("raw-{n}");
    let request_hash = format!("{n:064x}");
    db::write_tx(conn, |conn| -> anyhow::Result<()> {
        let now = db::now_micros();
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
        // idempotency::once: look the key up, then claim it
        let stored: Vec<StoredKey> = sql_query(format!(
            "SELECT request_hash, response_body FROM idempotency_keys \
             WHERE bank_id = {bank} AND idem_key = '{key}'"
        ))
        .load(conn)?;
        if let Some(stored) = stored.first() {
            bail!("key {key} already used (hash {})", stored.request_hash);
        }
        sql_query(format!(
            "INSERT INTO idempotency_keys (bank_id, idem_key, request_hash, response_body, created_at) \
             VALUES ({bank}, '{key}', '{request_hash}', '', {now})"
        ))
        .execute(conn)?;
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
        // the response (the same JSON the API answers with), audited, then kept with the key
        let body = json!({
            "id": entry.id, "bank_id": bank, "kind": "award", "memo": MEMO, "reference": null,
            "actor": ledger.actor, "reverses_entry_id": null, "reversed_by_entry_id": null,
            "created_at": timestamp(now),
            "postings": postings.iter().map(|(p, account, amount)| json!({
                "id": p.id, "account_id": account, "asset": "POINTS",
                "amount": Amount::from_minor(*amount),
                "balance_after": p.balance_after.map(Amount::from_minor),
            })).collect::<Vec<_>>(),
        })
        .to_string()
        .replace('\'', "''");
        // audit::created (the request id is the middleware's UUID)
        sql_query(format!(
            "INSERT INTO audit_log (at, actor, action, target, org_path, client_ip, request_id, \
             before_json, after_json) VALUES ({at}, '{actor}', 'entry.post', 'entry:{entry}', \
             '{path}', '127.0.0.1', '{request_id}', NULL, '{body}')",
            at = db::now_micros(),
            actor = ledger.actor,
            entry = entry.id,
            request_id = uuid::Uuid::new_v4(),
        ))
        .execute(conn)?;
        // idempotency::once: keep the response with the key
        sql_query(format!(
            "UPDATE idempotency_keys SET response_body = '{body}' \
             WHERE bank_id = {bank} AND idem_key = '{key}'"
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
    // One connection per thread, held for the whole measurement.
    let pool = connection::build_pool(target, concurrency as u32, Duration::from_secs(30))?;
    let connections = (0..concurrency)
        .map(|_| pool.get())
        .collect::<Result<Vec<_>, _>>()
        .context("opening the raw connections")?;
    let window = Window::new(options.warmup, options.seconds);
    let workers: Vec<JoinHandle<Tally>> = connections
        .into_iter()
        .map(|mut conn| {
            let ledger = ledger.clone();
            let counters = counters.clone();
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= window.until {
                        break;
                    }
                    let n = counters.next.fetch_add(1, Ordering::Relaxed);
                    match raw_award(&mut conn, &ledger, n) {
                        Ok(()) => {
                            counters.awarded.fetch_add(1, Ordering::Relaxed);
                            tally.done(&window, started, Instant::now());
                        }
                        Err(err) => tally.failed(format!("{err:#}")),
                    }
                }
                tally
            })
        })
        .collect();
    let tallies = workers
        .into_iter()
        .map(|w| w.join().map_err(|_| anyhow!("a raw worker panicked")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tally = Tally::merge(tallies);
    report_errors("raw", &tally);
    Ok(Figures::of(&tally, &window))
}

fn report_errors(what: &str, tally: &Tally) {
    if let Some(first) = &tally.first_error {
        eprintln!("  {what}: {} failed awards; first: {first}", tally.errors);
    }
}

// ---------------------------------------------------------------------------------------------
// (b) Awards through the HTTP API
// ---------------------------------------------------------------------------------------------

struct Api {
    base: String,
    token: String,
}

async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"phone": ADMIN_PHONE, "password": ADMIN_PASSWORD}))
        .send()
        .await?;
    ensure!(
        response.status().as_u16() == 200,
        "login: {}",
        response.status()
    );
    let body: Value = response.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("login answered without a token"))
}

async fn get_json(client: &reqwest::Client, api: &Api, path: &str) -> anyhow::Result<Value> {
    let response = client
        .get(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status.as_u16() == 200, "GET {path}: {status} {body}");
    Ok(body)
}

async fn api_award(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: String,
) -> Result<(), String> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    if status.as_u16() != 201 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
    }
    Ok(())
}

/// One client calling `GET path` in a loop for a second: the cost of a call that does no work.
async fn run_probe(api: &Api, path: &str, options: &Options) -> anyhow::Result<Figures> {
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let url = format!("{}{path}", api.base);
    let window = Window::new(options.warmup.min(0.5), options.seconds.min(1.0));
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
    report_errors(path, &tally);
    Ok(Figures::of(&tally, &window))
}

async fn run_api(
    api: &Api,
    ledger: &Arc<Ledger>,
    counters: &Arc<Counters>,
    concurrency: usize,
    options: &Options,
) -> anyhow::Result<Figures> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()?;
    let url = Arc::new(format!("{}/api/v1/banks/{}/entries", api.base, ledger.bank));
    let token = Arc::new(api.token.clone());
    let window = Window::new(options.warmup, options.seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            let (ledger, counters) = (ledger.clone(), counters.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= window.until {
                        break;
                    }
                    let n = counters.next.fetch_add(1, Ordering::Relaxed);
                    let wallet = ledger.wallets[(n % ledger.wallets.len() as u64) as usize];
                    let body = format!(
                        r#"{{"kind":"award","memo":"{MEMO}","postings":[{{"account_id":{},"amount":"-1.00"}},{{"account_id":{wallet},"amount":"1.00"}}]}}"#,
                        ledger.issuance
                    );
                    match api_award(&client, &url, &token, body).await {
                        Ok(()) => {
                            counters.awarded.fetch_add(1, Ordering::Relaxed);
                            tally.done(&window, started, Instant::now());
                        }
                        Err(err) => tally.failed(err),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tallies = Vec::with_capacity(concurrency);
    for task in tasks {
        tallies.push(
            task.await
                .map_err(|e| anyhow!("an API client task failed: {e}"))?,
        );
    }
    let tally = Tally::merge(tallies);
    report_errors("api", &tally);
    Ok(Figures::of(&tally, &window))
}

// ---------------------------------------------------------------------------------------------
// One backend
// ---------------------------------------------------------------------------------------------

fn run_backend(
    backend: Backend,
    options: &Options,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<(Vec<Row>, String)> {
    let database = BenchDatabase::create(backend, &options.postgres_url, options.relaxed)?;
    let mut settings = Settings::for_instance(&database.url, database.dir.path());
    settings.workers = 2;
    settings.db_pool_size = options.pool.unwrap_or(match backend {
        Backend::Postgres => 16,
        Backend::Sqlite => 8,
    });
    settings.log = "error".into();
    if options.relaxed {
        settings.sqlite_synchronous = "NORMAL".into();
    }
    let mut target = DbTarget::parse(&settings.database_url);
    target.sqlite_synchronous = settings.sqlite_synchronous.clone();
    target.busy_timeout_ms = settings.busy_timeout_ms;
    println!(
        "service: {} HTTP workers, pool {}, seal every {} ms, {}",
        settings.workers,
        settings.db_pool_size,
        settings.seal_interval_ms,
        match (backend, options.relaxed) {
            (Backend::Sqlite, _) => format!("SQLite synchronous={}", settings.sqlite_synchronous),
            (Backend::Postgres, false) => "PostgreSQL synchronous_commit=on".to_string(),
            (Backend::Postgres, true) => "PostgreSQL synchronous_commit=off".to_string(),
        }
    );
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
    let base = format!("http://127.0.0.1:{}", service.port);
    let token = runtime.block_on(login(&client, &base))?;
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
    let wanted = |side: &str| !matches!(options.only.as_deref(), Some(only) if only != side);
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
    for &c in &options.concurrency {
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
    let waited = Instant::now();
    let report = loop {
        let report = get_json(
            client,
            api,
            &format!("/api/v1/banks/{}/verify", ledger.bank),
        )
        .await?;
        ensure!(report["ok"] == true, "verify found problems: {report}");
        if report["unsealed_entries"] == 0 {
            break report;
        }
        ensure!(
            waited.elapsed() < Duration::from_secs(120),
            "entries stayed unsealed: {report}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let expected = awarded * AWARD_MINOR;
    let pool = service.pool.clone();
    let bank = ledger.bank;
    let (wallet_total, entry_count) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut conn = pool.get()?;
        let wallets: Total = sql_query(format!(
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM accounts \
             WHERE bank_id = {bank} AND kind = 'member'"
        ))
        .get_result(&mut conn)?;
        let entries: Total = sql_query(format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS total FROM entries WHERE bank_id = {bank}"
        ))
        .get_result(&mut conn)?;
        Ok((wallets.total, entries.total))
    })
    .await??;
    let issuance = get_json(
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
        waited.elapsed().as_secs_f64(),
        report["entries_checked"],
        report["seals_checked"],
        report["head_hash"].as_str().unwrap_or("?"),
        Amount::from_minor(wallet_total),
        Amount::from_minor(AWARD_MINOR),
        issuance_balance,
    ))
}
