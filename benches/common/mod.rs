//! What the benchmark harnesses share: argument parsing, a fresh database per backend, the real
//! service started in-process, the measurement window with exact percentiles, the runners for
//! raw SQL threads and HTTP clients, and the wait for a clean `verify`.

// Each bench binary compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use std::future::Future;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};
use pointsbank::app;
use pointsbank::config::Settings;
use pointsbank::db::{self, connection, Backend, Db, DbTarget};
use serde_json::{json, Value};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const ADMIN_PHONE: &str = "13900000000";
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

/// Splits `--flag value`, `--flag=value` and bare `switches` into (flag, value) pairs. `cargo
/// bench` passes `--bench` to every bench binary; it is dropped. `-h`/`--help` answers `Err("")`.
pub fn flags(
    args: impl Iterator<Item = String>,
    switches: &[&str],
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut pairs = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        match flag.as_str() {
            "--bench" => continue,
            "-h" | "--help" => return Err(String::new()),
            _ if switches.contains(&flag.as_str()) => pairs.push((flag, None)),
            _ => {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                pairs.push((flag, Some(value)));
            }
        }
    }
    Ok(pairs)
}

/// The options every benchmark takes.
pub struct RunOptions {
    pub backends: Vec<Backend>,
    pub seconds: f64,
    pub warmup: f64,
    pub concurrency: Vec<usize>,
    pub relaxed: bool,
    pub pool: Option<u32>,
    pub postgres_url: String,
    /// Measure one side only, `raw` or `api` (for profiling).
    pub only: Option<String>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            seconds: 3.0,
            warmup: 0.5,
            concurrency: vec![1, 16, 64],
            relaxed: false,
            pool: None,
            postgres_url: postgres_url(),
            only: None,
        }
    }
}

impl RunOptions {
    /// Takes a flag that every benchmark knows (`--relaxed` is a switch); answers whether it was
    /// one, so the benchmark can look at the rest.
    pub fn take(&mut self, flag: &str, value: &Option<String>) -> Result<bool, String> {
        if flag == "--relaxed" {
            self.relaxed = true;
            return Ok(true);
        }
        let known = [
            "--backend",
            "--seconds",
            "--warmup",
            "--concurrency",
            "--pool",
            "--only",
        ];
        if !known.contains(&flag) {
            return Ok(false);
        }
        let value = value_of(flag, value.clone())?;
        match flag {
            "--backend" => self.backends = backends(&value)?,
            "--seconds" => self.seconds = positive_seconds(flag, &value)?,
            "--warmup" => self.warmup = positive_seconds(flag, &value)?,
            "--concurrency" => self.concurrency = concurrency_list(flag, &value)?,
            "--only" if value == "raw" || value == "api" => self.only = Some(value),
            "--only" => return Err("--only takes raw or api".into()),
            _ => self.pool = Some(positive_integer(flag, &value)?),
        }
        Ok(true)
    }

    /// What the run measures and under which conditions, for the first line of its output.
    pub fn describe(&self) -> String {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        format!(
            "{} s per measurement after {} s warm-up, concurrency {:?}, {} durability, \
             {cpus} CPUs, load average {}",
            self.seconds,
            self.warmup,
            self.concurrency,
            if self.relaxed { "relaxed" } else { "full" },
            load_average()
        )
    }

    /// Whether this side (`raw` or `api`) is measured.
    pub fn wanted(&self, side: &str) -> bool {
        !matches!(self.only.as_deref(), Some(only) if only != side)
    }

    /// The measurement window: warm-up, then measured seconds.
    pub fn window(&self) -> (f64, f64) {
        (self.warmup, self.seconds)
    }
}

/// The value of a flag that takes one (`flags` guarantees it is there).
pub fn value_of(flag: &str, value: Option<String>) -> Result<String, String> {
    value.ok_or_else(|| format!("{flag} needs a value"))
}

pub fn positive_seconds(flag: &str, text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| format!("{flag} needs a positive number of seconds"))
}

pub fn positive_integer<T: std::str::FromStr + PartialOrd + Default>(
    flag: &str,
    text: &str,
) -> Result<T, String> {
    text.parse::<T>()
        .ok()
        .filter(|n| *n > T::default())
        .ok_or_else(|| format!("{flag} needs a positive integer"))
}

pub fn concurrency_list(flag: &str, text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|c| c.trim().parse().ok().filter(|c: &usize| *c > 0))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| format!("{flag} needs a list like 1,16,64"))
}

pub fn backends(text: &str) -> Result<Vec<Backend>, String> {
    match text {
        "sqlite" => Ok(vec![Backend::Sqlite]),
        "postgres" => Ok(vec![Backend::Postgres]),
        "both" => Ok(vec![Backend::Sqlite, Backend::Postgres]),
        other => Err(format!("unknown backend `{other}`")),
    }
}

pub fn postgres_url() -> String {
    std::env::var("PB_BENCH_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// The parsed options and the load generator's runtime, or (after printing what is wrong and
/// the usage) the exit code 2.
pub fn start<T>(
    parsed: Result<T, String>,
    usage: &str,
) -> Result<(T, tokio::runtime::Runtime), ExitCode> {
    match parsed {
        Ok(options) => Ok((options, bench_runtime())),
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{usage}");
            Err(ExitCode::from(2))
        }
    }
}

/// Runs `run` for each backend under a `== name ==` header. A backend that fails is reported
/// and the others still run; answers what the others gave and whether any failed.
pub fn each_backend<T>(
    backends: &[Backend],
    mut run: impl FnMut(Backend) -> anyhow::Result<T>,
) -> (Vec<T>, bool) {
    let mut done = Vec::new();
    let mut failed = false;
    for &backend in backends {
        println!("\n== {} ==", backend_name(backend));
        match run(backend) {
            Ok(outcome) => done.push(outcome),
            Err(err) => {
                eprintln!("{}: FAILED: {err:#}", backend_name(backend));
                failed = true;
            }
        }
    }
    (done, failed)
}

/// Prints the backends' closing reports and answers the exit status: 1 if any backend failed.
pub fn finish(reports: &[String], failed: bool) -> ExitCode {
    for report in reports {
        println!("{report}");
    }
    if failed {
        eprintln!("\nbenchmark FAILED (see above)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews every figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Quiet logs and the load generator's runtime: two threads, like the service's workers.
pub fn bench_runtime() -> tokio::runtime::Runtime {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
        .with_target(false)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ---------------------------------------------------------------------------------------------
// Database and service
// ---------------------------------------------------------------------------------------------

/// A fresh database: a SQLite file in a temp dir, or a PostgreSQL database dropped on drop.
pub struct BenchDatabase {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

impl BenchDatabase {
    pub fn create(
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

/// The service's settings for a benchmark (2 HTTP workers; pool 8 on SQLite, 16 on PostgreSQL
/// unless `pool` says otherwise) and the target the raw threads connect to with the same
/// connection settings. Prints one line that says so.
pub fn bench_settings(
    backend: Backend,
    database: &BenchDatabase,
    pool: Option<u32>,
    relaxed: bool,
) -> (Settings, DbTarget) {
    let mut settings = Settings::for_instance(&database.url, database.dir.path());
    settings.workers = 2;
    settings.db_pool_size = pool.unwrap_or(match backend {
        Backend::Postgres => 16,
        Backend::Sqlite => 8,
    });
    settings.log = "error".into();
    if relaxed {
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
        match (backend, relaxed) {
            (Backend::Sqlite, _) => format!("SQLite synchronous={}", settings.sqlite_synchronous),
            (Backend::Postgres, false) => "PostgreSQL synchronous_commit=on".to_string(),
            (Backend::Postgres, true) => "PostgreSQL synchronous_commit=off".to_string(),
        }
    );
    (settings, target)
}

/// The real service, driven by an actix `System` on its own thread.
pub struct Service {
    pub port: u16,
    pub pool: db::Pool,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    upkeep: Option<pointsbank::worker::Upkeep>,
}

impl Service {
    pub fn start(settings: Settings) -> anyhow::Result<Service> {
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

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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

/// The administrator (platform admin, signs in with `ADMIN_PHONE`), a village and its bank.
pub struct Village {
    pub staff_id: i64,
    pub org_id: i64,
    pub org_path: String,
    pub bank_id: i64,
}

/// `admin_hash` is `hash_password(ADMIN_PASSWORD)`, computed before the transaction.
pub fn create_village(conn: &mut Db, admin_hash: &str) -> pointsbank::error::ApiResult<Village> {
    let now = db::now_micros();
    let staff =
        db::staff::create_staff(conn, ADMIN_PHONE, "Bench Admin", admin_hash, "admin", now)?;
    db::staff::add_grant(
        conn,
        staff.id,
        pointsbank::domain::access::Role::PlatformAdmin,
        None,
        "bench",
        now,
    )?;
    let org = db::orgs::create_org(
        conn,
        db::orgs::NewOrg {
            code: "bench",
            name: "青山村",
            kind: db::orgs::OrgKind::Village,
            parent: None,
        },
        now,
    )?;
    let bank = db::banks::create_bank(conn, org.id, "青山村积分银行", now)?;
    Ok(Village {
        staff_id: staff.id,
        org_id: org.id,
        org_path: org.path,
        bank_id: bank.id,
    })
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

/// One measurement window: warm-up from `start`, then `[measure_from, until]` is measured.
#[derive(Clone, Copy)]
pub struct Window {
    pub measure_from: Instant,
    pub until: Instant,
}

impl Window {
    pub fn new(warmup: f64, seconds: f64) -> Window {
        let measure_from = Instant::now() + Duration::from_secs_f64(warmup);
        Window {
            measure_from,
            until: measure_from + Duration::from_secs_f64(seconds),
        }
    }

    pub fn seconds(&self) -> f64 {
        (self.until - self.measure_from).as_secs_f64()
    }
}

/// What one worker saw.
#[derive(Default)]
pub struct Tally {
    /// How many calls completed inside the measured window (the throughput).
    pub in_window: usize,
    /// Durations (ns) of every call that completed after the window opened, including the
    /// last ones that finished after it closed: a call starved for the whole window still
    /// shows in the tail.
    pub latencies: Vec<u64>,
    /// Fewest and most calls one worker completed inside the window (how fair the queue is).
    pub per_worker: (usize, usize),
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Tally {
    pub fn done(&mut self, window: &Window, started: Instant, finished: Instant) {
        if finished >= window.measure_from {
            self.latencies.push((finished - started).as_nanos() as u64);
            if finished <= window.until {
                self.in_window += 1;
            }
        }
    }

    pub fn failed(&mut self, error: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error);
        }
    }

    pub fn merge(tallies: Vec<Tally>) -> Tally {
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

    /// Says how many calls failed, and the first failure.
    pub fn report_errors(&self, what: &str) {
        if let Some(first) = &self.first_error {
            eprintln!("  {what}: {} failed calls; first: {first}", self.errors);
        }
    }
}

/// Throughput and exact latency percentiles of one measurement.
#[derive(Clone, Copy, Default)]
pub struct Figures {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub completed: u64,
    pub errors: u64,
    pub per_worker: (usize, usize),
}

impl Figures {
    pub fn of(tally: &Tally, window: &Window) -> Figures {
        Figures {
            per_second: tally.in_window as f64 / window.seconds(),
            p50_ms: percentile(&tally.latencies, 50) as f64 / 1e6,
            p99_ms: percentile(&tally.latencies, 99) as f64 / 1e6,
            completed: tally.in_window as u64,
            errors: tally.errors,
            per_worker: tally.per_worker,
        }
    }

    pub fn line(&self) -> String {
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

    /// `api / raw`, or 0 when the raw side did not run.
    pub fn ratio_to(&self, raw: &Figures) -> f64 {
        if raw.per_second > 0.0 {
            self.per_second / raw.per_second
        } else {
            0.0
        }
    }
}

/// One concurrency of one backend: the raw ceiling and the API side by side.
#[derive(Clone, Copy)]
pub struct Row {
    pub backend: Backend,
    pub concurrency: usize,
    pub raw: Figures,
    pub api: Figures,
}

/// The Markdown table of `rows`, counting `what` (e.g. "awards") per second.
pub fn table(rows: &[Row], what: &str) -> String {
    let mut out = format!(
        "| backend | c | raw {what}/s | raw p50 ms | raw p99 ms | API {what}/s | API p50 ms | API p99 ms | API/raw |\n\
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
            row.api.ratio_to(&row.raw),
        ));
    }
    out
}

/// Nearest-rank percentile of sorted values (integer arithmetic, no interpolation).
pub fn percentile(sorted: &[u64], pct: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// `concurrency` OS threads, each holding its own connection for the whole window, call `work`
/// in a tight loop. A call that fails is counted, not retried.
pub fn run_threads<F>(
    target: &DbTarget,
    concurrency: usize,
    window: Window,
    work: F,
) -> anyhow::Result<Tally>
where
    F: Fn(&mut Db) -> anyhow::Result<()> + Send + Sync + 'static,
{
    let pool = connection::build_pool(target, concurrency as u32, Duration::from_secs(30))?;
    let connections = (0..concurrency)
        .map(|_| pool.get())
        .collect::<Result<Vec<_>, _>>()
        .context("opening the raw connections")?;
    let work = Arc::new(work);
    let workers: Vec<JoinHandle<Tally>> = connections
        .into_iter()
        .map(|mut conn| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= window.until {
                        break;
                    }
                    match work(&mut conn) {
                        Ok(()) => tally.done(&window, started, Instant::now()),
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
    Ok(Tally::merge(tallies))
}

/// `run_threads` over a fresh window of `warmup` then `seconds`, as figures; failures are
/// reported under `what`.
pub fn measure_threads<F>(
    what: &str,
    target: &DbTarget,
    concurrency: usize,
    (warmup, seconds): (f64, f64),
    work: F,
) -> anyhow::Result<Figures>
where
    F: Fn(&mut Db) -> anyhow::Result<()> + Send + Sync + 'static,
{
    let window = Window::new(warmup, seconds);
    let tally = run_threads(target, concurrency, window, work)?;
    tally.report_errors(what);
    Ok(Figures::of(&tally, &window))
}

/// `run_clients` over a fresh window of `warmup` then `seconds`, as figures; failures are
/// reported under `what`.
pub async fn measure_clients<F, Fut>(
    what: &str,
    concurrency: usize,
    (warmup, seconds): (f64, f64),
    work: F,
) -> anyhow::Result<Figures>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let window = Window::new(warmup, seconds);
    let tally = run_clients(concurrency, window, work).await?;
    tally.report_errors(what);
    Ok(Figures::of(&tally, &window))
}

/// `concurrency` tasks on the current tokio runtime call `work` in a loop until the window ends.
pub async fn run_clients<F, Fut>(
    concurrency: usize,
    window: Window,
    work: F,
) -> anyhow::Result<Tally>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let work = Arc::new(work);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let work = work.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= window.until {
                        break;
                    }
                    match work().await {
                        Ok(()) => tally.done(&window, started, Instant::now()),
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
    Ok(Tally::merge(tallies))
}

/// A keep-alive HTTP client for `concurrency` callers.
pub fn http_client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()?)
}

// ---------------------------------------------------------------------------------------------
// The API as a client sees it
// ---------------------------------------------------------------------------------------------

/// Where the service listens, and a staff token.
pub struct Api {
    pub base: String,
    pub token: String,
}

pub async fn login(
    client: &reqwest::Client,
    base: &str,
    phone: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"phone": phone, "password": password}))
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

/// POSTs a JSON body with a bearer token (and a fresh `Idempotency-Key` if asked); answers the
/// status and the body. Only a broken connection is an error here.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: String,
    idempotency_key: bool,
) -> Result<(u16, Vec<u8>), String> {
    let mut request = client
        .post(url)
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(body);
    if idempotency_key {
        request = request.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    Ok((status, bytes.to_vec()))
}

pub async fn get_json(client: &reqwest::Client, api: &Api, path: &str) -> anyhow::Result<Value> {
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

/// Waits until every entry of the bank is sealed; every report on the way must say `ok: true`.
/// Returns the final report and how long it waited.
pub async fn wait_verified(
    client: &reqwest::Client,
    api: &Api,
    bank: i64,
) -> anyhow::Result<(Value, f64)> {
    let waited = Instant::now();
    loop {
        let report = get_json(client, api, &format!("/api/v1/banks/{bank}/verify")).await?;
        ensure!(report["ok"] == true, "verify found problems: {report}");
        if report["unsealed_entries"] == 0 {
            return Ok((report, waited.elapsed().as_secs_f64()));
        }
        ensure!(
            waited.elapsed() < Duration::from_secs(120),
            "entries stayed unsealed: {report}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Rows the raw SQL loops read back (`sql_query` fills the fields by column name).
#[derive(QueryableByName)]
pub struct IdRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
}

#[derive(QueryableByName)]
pub struct PathRow {
    #[diesel(sql_type = Text)]
    pub path: String,
}

#[derive(QueryableByName)]
pub struct StoredKey {
    #[diesel(sql_type = Text)]
    pub request_hash: String,
}

#[derive(QueryableByName)]
pub struct BalanceRow {
    #[diesel(sql_type = BigInt)]
    pub balance: i64,
}

/// `db::idempotency::once` before the effect, in raw SQL: look the key up, then claim it.
pub fn raw_claim_key(
    conn: &mut Db,
    bank: i64,
    key: &str,
    request_hash: &str,
    now: i64,
) -> anyhow::Result<()> {
    let stored: Vec<StoredKey> = sql_query(format!(
        "SELECT request_hash, response_body FROM idempotency_keys \
         WHERE bank_id = {bank} AND idem_key = '{key}'"
    ))
    .load(conn)?;
    if let Some(stored) = stored.first() {
        anyhow::bail!("key {key} already used (hash {})", stored.request_hash);
    }
    sql_query(format!(
        "INSERT INTO idempotency_keys (bank_id, idem_key, request_hash, response_body, created_at) \
         VALUES ({bank}, '{key}', '{request_hash}', '', {now})"
    ))
    .execute(conn)?;
    Ok(())
}

/// One row of `SELECT … AS total`.
#[derive(QueryableByName)]
pub struct Total {
    #[diesel(sql_type = BigInt)]
    pub total: i64,
}

/// Runs `SELECT <integer> AS total …` on a pooled connection, off the async runtime.
pub async fn total(pool: &db::Pool, sql: String) -> anyhow::Result<i64> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        let mut conn = pool.get()?;
        let row: Total = sql_query(&sql)
            .get_result(&mut conn)
            .with_context(|| sql.clone())?;
        Ok(row.total)
    })
    .await?
}
