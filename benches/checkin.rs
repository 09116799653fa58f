//! The check-in burst benchmark: a crowd scanning the screen's QR code at the start of an
//! activity, through the HTTP API against the raw SQL ceiling of the same writes, on SQLite and
//! PostgreSQL, in one run and on one database per backend.
//!
//! ```sh
//! cargo bench --bench checkin -- [--backend sqlite|postgres|both] [--members N] [--concurrency 1,64,256]
//! ```
//!
//! For each backend it creates a fresh database, starts the real service in-process
//! (`pointsbank::app::start`), creates an admin, a bank and `--members` members (one transaction
//! through the db layer), then for each concurrency `c`, on a fresh published, ongoing activity
//! each (so every member scans once per activity):
//!
//! * **raw**: `c` OS threads, each with its own connection, run the statements of the check-in
//!   transaction (activity lookup, the member's bank, the member's status, the existing-attendance
//!   check, the attendance insert) through the service's own db functions, one `write_tx` per
//!   scan, until every member has checked in once: no HTTP, JSON, token checks, pool checkout or
//!   blocking-pool hop. On SQLite the threads take turns on an in-process lock before each
//!   transaction, as the service's writers do (`--busy-handler` leaves the waiting to SQLite,
//!   whose sleeping busy handler starves threads). On PostgreSQL at most `--pg-raw-max` threads
//!   (default 64): its `max_connections` is 100 and the service holds 16;
//! * **api**: the screen's current code is fetched once (`GET /api/v1/activities/{id}/qr/payload`,
//!   a 300 s step), then `c` keep-alive HTTP clients (each one connection, opened before the
//!   clock starts) `POST /api/v1/checkins` with it, each call with the next member's token,
//!   until every member has checked in once.
//!
//! Scans/s is the number of scans over the time from the start to the last answer; p50/p99 are
//! exact nearest-rank percentiles over every scan. After each burst the activity must hold exactly
//! one attendance per member, every scan must have succeeded (201 for the API) and no scan may
//! have been refused; anything else fails the run. The ledger benchmark is `benches/ledger.rs`.

mod common;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::{anyhow, ensure, Context};
use diesel::connection::SimpleConnection;
use pointsbank::auth::password::hash_password;
use pointsbank::clock::{Clock, SystemClock};
use pointsbank::db::activities::attendance::Scan;
use pointsbank::db::{self, Backend, Db, DbTarget};
use pointsbank::domain::activities::activity::Purpose;
use pointsbank::domain::activities::checkin::judge_window;
use pointsbank::error::ServiceError;
use serde_json::json;

use common::{
    backend_name, load_average, Api, BenchDatabase, Figures, Row, Service, Window, ADMIN_PASSWORD,
    ADMIN_PHONE,
};

const USAGE: &str = "usage: cargo bench --bench checkin -- [--backend sqlite|postgres|both] \
[--members N] [--concurrency 1,64,256] [--pg-raw-max N] [--busy-handler] [--relaxed] [--only raw|api] [--pool N]
  --members       members who each scan once per burst (default 3000)
  --pg-raw-max    most raw threads (connections) on PostgreSQL (default 64)
  --busy-handler  raw SQLite threads wait for the write lock in SQLite's busy handler instead of
                  taking turns in the process (as the service does)
  --relaxed       commits without waiting for the disk (SQLite synchronous=NORMAL, PostgreSQL
                  synchronous_commit=off), for raw and API alike: shows the CPU-bound picture
  --only          measure one side only (for profiling)
  --pool          the service's database pool size (default 8 on SQLite, 16 on PostgreSQL)
A burst runs until every member has scanned once: there is no --seconds or --warmup.
PostgreSQL admin URL: PB_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)";

/// Long enough that the code fetched before a burst is good through it (a dynamic code is
/// accepted in its own step and the next).
const QR_STEP_SECONDS: i64 = 300;

struct Options {
    run: common::RunOptions,
    members: usize,
    pg_raw_max: usize,
    busy_handler: bool,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut run = common::RunOptions {
            concurrency: vec![1, 64, 256],
            ..common::RunOptions::default()
        };
        let (mut members, mut pg_raw_max, mut busy_handler) = (3000, 64, false);
        let switches = ["--relaxed", "--busy-handler"];
        common::parse_flags(&mut run, args, &switches, |flag, value| {
            match flag {
                "--seconds" | "--warmup" => {
                    return Err(format!(
                    "{flag}: a burst runs until every member has scanned; --members sets its size"
                ))
                }
                "--busy-handler" => busy_handler = true,
                "--members" => {
                    members = common::positive_integer(flag, &common::value_of(flag, value)?)?
                }
                "--pg-raw-max" => {
                    pg_raw_max = common::positive_integer(flag, &common::value_of(flag, value)?)?
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Options {
            run,
            members,
            pg_raw_max,
            busy_handler,
        })
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
        "scans",
        |options| {
            format!(
            "check-in burst benchmark: {} members scan once per burst, QR step {QR_STEP_SECONDS} s, {}",
            options.members,
            options.run.conditions()
        )
        },
        run_backend,
    )
}

// ---------------------------------------------------------------------------------------------
// (a) The raw SQL ceiling
// ---------------------------------------------------------------------------------------------

/// One check-in as the API's transaction makes it (`service::activities::checkin::member_scan`): the activity,
/// the window check of `judge_scan`, then `record_scan` (the member's bank, the member's status,
/// the existing-attendance check, the insert). These are the service's own functions, so the
/// statements are exactly the service's, prepared and cached by diesel as in the service.
fn raw_scan(conn: &mut Db, activity_id: i64, member_id: i64) -> Result<(), ServiceError> {
    let recorded_by = format!("member:{member_id}");
    db::write_tx(conn, |conn| {
        let now = SystemClock.now_micros();
        let activity = db::activities::get_activity(conn, activity_id)?;
        judge_window(&activity.scan_target()?, now)?;
        db::activities::attendance::record_scan(
            conn,
            &Scan {
                activity: &activity,
                member_id,
                purpose: Purpose::CheckIn,
                method: "dynamic_qr",
                at: now,
                recorded_by: &recorded_by,
            },
        )?;
        Ok(())
    })
}

/// Runs the burst on `threads` threads. With a `turn`, a thread takes it before each
/// transaction: SQLite's one writer then passes from thread to thread at once, as in the
/// service (`http::in_write_tx`), instead of through SQLite's busy handler, which sleeps in steps
/// of up to 100 ms and starves some threads past the busy timeout at a few hundred threads.
fn run_raw(
    target: &DbTarget,
    activity_id: i64,
    members: &Arc<Vec<i64>>,
    threads: usize,
    turn: Option<Arc<Mutex<()>>>,
) -> anyhow::Result<Figures> {
    let connections = common::raw_connections(target, threads)?;
    let (members, next) = (members.clone(), AtomicUsize::new(0));
    let (tally, started) = common::run_on_threads(connections, Window::burst(), move |conn| {
        let member = *members.get(next.fetch_add(1, Ordering::Relaxed))?;
        let _turn = turn
            .as_ref()
            .map(|t| t.lock().unwrap_or_else(PoisonError::into_inner));
        Some(raw_scan(conn, activity_id, member).map_err(|err| format!("member {member}: {err:?}")))
    })?;
    tally.report_errors("raw");
    Ok(Figures::of_burst(&tally, started))
}

// ---------------------------------------------------------------------------------------------
// (b) Check-ins through the HTTP API
// ---------------------------------------------------------------------------------------------

/// A published activity that started an hour ago and ends in two, with a long QR step.
async fn new_activity(client: &reqwest::Client, api: &Api, org: i64) -> anyhow::Result<i64> {
    let at = |hours: i64| (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339();
    let body = json!({
        "org_id": org, "title": "开学日交通安全志愿服务", "category": "交通安全",
        "address": "青山村小学门口", "starts_at": at(-1), "ends_at": at(2),
        "grace_minutes": 0, "qr_step_seconds": QR_STEP_SECONDS,
        "award": {"mode": "fixed", "points": "10", "min_presence_percent": 0}
    });
    let created = common::post_json(client, api, "/api/v1/activities", &body, 201).await?;
    let id = created["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("activity without an id: {created}"))?;
    let path = format!("/api/v1/activities/{id}/publish");
    common::post_json(client, api, &path, &json!({}), 200).await?;
    Ok(id)
}

async fn run_api(
    base: &str,
    scanned: &str,
    tokens: Vec<String>,
    concurrency: usize,
) -> anyhow::Result<Figures> {
    // One client per worker, each with its one keep-alive connection opened before the clock.
    let clients = futures_util::future::join_all((0..concurrency).map(|_| async {
        let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
        client
            .get(format!("{base}/healthz"))
            .send()
            .await?
            .bytes()
            .await?;
        Ok::<_, reqwest::Error>(client)
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .context("connecting the clients")?;
    let url = format!("{base}/api/v1/checkins");
    let body = json!({ "token": scanned }).to_string();
    let next = AtomicUsize::new(0);
    let (tally, started) = common::run_on_tasks(clients, Window::burst(), move |client| {
        let token = tokens.get(next.fetch_add(1, Ordering::Relaxed))?.clone();
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        Some(async move {
            match common::post(&client, &url, &token, body, false).await? {
                (201, _) => Ok(()),
                (status, answer) => Err(format!("{status}: {}", String::from_utf8_lossy(&answer))),
            }
        })
    })
    .await?;
    tally.report_errors("api");
    Ok(Figures::of_burst(&tally, started))
}

// ---------------------------------------------------------------------------------------------
// One backend
// ---------------------------------------------------------------------------------------------

/// CPU time used so far, from `/proc` (in clock ticks of 10 ms): where a burst's time goes.
struct Cpu {
    at: Instant,
    /// This process: the service and the load generator (not PostgreSQL's server processes).
    process: f64,
    /// Every CPU of the machine, busy (neither idle nor waiting for I/O).
    machine: f64,
}

impl Cpu {
    fn now() -> Cpu {
        let ticks = |text: Option<&str>| -> f64 {
            text.and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0) / 100.0
        };
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // After the command name: state is the first field, utime the 12th, stime the 13th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let process = ticks(fields.get(11).copied()) + ticks(fields.get(12).copied());
        let all = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // `cpu user nice system idle iowait irq softirq steal …`
        let machine = all.lines().next().map_or(0.0, |line| {
            line.split_whitespace()
                .skip(1)
                .enumerate()
                .filter(|(i, _)| *i != 3 && *i != 4)
                .map(|(_, v)| ticks(Some(v)))
                .sum()
        });
        Cpu {
            at: Instant::now(),
            process,
            machine,
        }
    }

    /// CPU per scan in this process, and how busy the machine's CPUs were, since `self`.
    fn since(&self, scans: usize) -> String {
        let now = Cpu::now();
        let wall = (now.at - self.at).as_secs_f64();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        format!(
            "CPU {:.2} ms per scan in this process (service and clients); machine CPUs {:.0}% busy",
            (now.process - self.process) * 1000.0 / scans.max(1) as f64,
            (now.machine - self.machine) * 100.0 / (wall * cpus)
        )
    }
}

/// Fresh statistics before each burst: autovacuum is off on the benchmark machine.
fn analyze(pool: &db::Pool, backend: Backend) -> anyhow::Result<()> {
    if backend == Backend::Postgres {
        pool.get()?.batch_execute("VACUUM ANALYZE")?;
    }
    Ok(())
}

/// Every member checked in exactly once, every scan succeeded and none was refused.
async fn check_burst(
    pool: &db::Pool,
    side: &str,
    activity_id: i64,
    figures: &Figures,
    members: usize,
) -> anyhow::Result<()> {
    let count = |table: &str| {
        common::total(
            pool,
            format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS total FROM {table} \
                 WHERE activity_id = {activity_id}"
            ),
        )
    };
    let attendances = count("attendances").await?;
    let refused = count("refused_scans").await?;
    ensure!(
        figures.errors == 0 && figures.completed == members as u64,
        "{side}: {} scans succeeded and {} failed of {members}",
        figures.completed,
        figures.errors
    );
    ensure!(
        attendances == members as i64 && refused == 0,
        "{side}: activity {activity_id} holds {attendances} attendances and {refused} refused \
         scans after {members} scans"
    );
    Ok(())
}

/// The village the crowd lives in.
struct Crowd {
    org: i64,
    bank: i64,
    /// Each member's id and when their WeChat account was bound (their tokens carry it).
    bound: Vec<(i64, i64)>,
}

/// The administrator, a village and its bank, and `members` members with a WeChat binding each
/// (a member's token is good only with one), in one transaction.
fn setup(conn: &mut Db, members: usize) -> anyhow::Result<Crowd> {
    let hash = hash_password(ADMIN_PASSWORD)?;
    db::write_tx(conn, |c| {
        let now = SystemClock.now_micros();
        let village = common::create_village(c, &hash)?;
        let ids = (0..members)
            .map(|i| {
                let name = format!("志愿者 {i}");
                let new = db::members::NewMember {
                    org_id: village.org_id,
                    name: &name,
                    phone: None,
                    id_card: None,
                    household: None,
                    tags: "",
                    allow_proxy: false,
                };
                let id = db::members::create_member(c, new, now)?.0.id;
                common::bind_wechat(c, id, now)?;
                Ok((id, now))
            })
            .collect::<Result<Vec<_>, ServiceError>>()?;
        Ok(Crowd {
            org: village.org_id,
            bank: village.bank_id,
            bound: ids,
        })
    })
    .map_err(|e: ServiceError| anyhow!("setup failed: {e:?}"))
}

fn run_backend(
    backend: Backend,
    options: &Options,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<(Vec<Row>, String)> {
    let database = BenchDatabase::create(backend, &options.run.postgres_url, options.run.relaxed)?;
    let (settings, target) =
        common::bench_settings(backend, &database, options.run.pool, options.run.relaxed);
    let keys = common::token_keys(&settings);
    let service = Service::start(settings)?;
    println!("load average before: {}", load_average());

    let setup_started = Instant::now();
    let Crowd { org, bank, bound } = setup(&mut *service.pool.get()?, options.members)?;
    let members = Arc::new(bound.iter().map(|(id, _)| *id).collect::<Vec<i64>>());
    analyze(&service.pool, backend)?;
    let client = reqwest::Client::new();
    let base = service.base();
    let token = runtime.block_on(common::login(&client, &base, ADMIN_PHONE, ADMIN_PASSWORD))?;
    let api = Api { base, token };
    println!(
        "setup: bank {bank}, {} members ({:.1} s)",
        members.len(),
        setup_started.elapsed().as_secs_f64()
    );

    // Prints a burst's figures and where its CPU went, then checks it was exact.
    let burst_done = |side: &str, c: usize, activity: i64, figures: &Figures, cpu: Cpu| {
        println!("{side} c={c:<3} {}", figures.line());
        println!("          {}", cpu.since(members.len()));
        runtime.block_on(check_burst(
            &service.pool,
            side,
            activity,
            figures,
            members.len(),
        ))
    };
    let mut rows = Vec::new();
    for &c in &options.run.concurrency {
        let threads = match backend {
            Backend::Postgres => c.min(options.pg_raw_max),
            Backend::Sqlite => c,
        };
        let mut raw = Figures::default();
        if options.run.wanted("raw") {
            let activity = runtime.block_on(new_activity(&client, &api, org))?;
            analyze(&service.pool, backend)?;
            let turn = (backend == Backend::Sqlite && !options.busy_handler)
                .then(|| Arc::new(Mutex::new(())));
            let cpu = Cpu::now();
            raw = run_raw(&target, activity, &members, threads, turn)?;
            burst_done("raw", threads, activity, &raw, cpu)?;
        }

        let mut api_figures = Figures::default();
        if options.run.wanted("api") {
            let activity = runtime.block_on(new_activity(&client, &api, org))?;
            analyze(&service.pool, backend)?;
            let path = format!("/api/v1/activities/{activity}/qr/payload");
            let code = runtime.block_on(common::get_json(&client, &api, &path))?;
            let scanned = code["url"]
                .as_str()
                .ok_or_else(|| anyhow!("QR payload without a url: {code}"))?;
            let now = chrono::Utc::now().timestamp();
            let tokens = bound
                .iter()
                .map(|&(id, bound_at)| keys.issue_member(id, bound_at, now))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let cpu = Cpu::now();
            api_figures = runtime.block_on(run_api(&api.base, scanned, tokens, c))?;
            burst_done("api", c, activity, &api_figures, cpu)?;
        }
        rows.push(Row {
            backend,
            concurrency: c,
            raw_threads: threads,
            raw,
            api: api_figures,
        });
    }
    println!("load average after: {}", load_average());
    let report = format!(
        "{}: {} bursts of {} scans (raw and API at c = {:?}): every scan succeeded, each \
         activity holds exactly one attendance per member, no refused scans: exact",
        backend_name(backend),
        rows.len() * 2,
        members.len(),
        options.run.concurrency,
    );
    println!("{report}");
    drop(service);
    drop(database);
    Ok((rows, report))
}
