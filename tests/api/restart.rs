//! A crash in the middle of writes: the real binary is SIGKILLed while 300 awards are in flight,
//! restarted on the same database, and every award then lands exactly once.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;

const BINARY: &str = env!("CARGO_BIN_EXE_pointsbank");
pub(crate) const JWT_SECRET: &str = "restart-test-secret-restart-test-secret";
const AWARDS: usize = 300;
/// Kill the server once this many awards have been answered; the rest are still in flight.
const KILL_AFTER: usize = 100;
const WALLETS: usize = 3;
const AMOUNT: &str = "1.25";
const AMOUNT_MINOR: i64 = 125;

/// A command of the binary with the test instance's environment (and no inherited PB_* settings).
pub(crate) fn pointsbank(database: &TestDatabase, port: u16) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PB_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
        .env("DATABASE_URL", &database.url)
        .env("PB_BIND", format!("127.0.0.1:{port}"))
        .env("PB_JWT_SECRET", JWT_SECRET)
        .env("PB_DATA_DIR", database.dir.path())
        .env("PB_LOG", "warn")
        .env("PB_SEAL_INTERVAL_MS", "200");
    command
}

pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// `pointsbank admin create`: the administrator the tests sign in as.
pub(crate) fn create_admin(database: &TestDatabase) {
    let created = pointsbank(database, free_port())
        .args(["admin", "create", "--phone", ADMIN_PHONE, "--name", "Admin"])
        .env("PB_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("run pointsbank admin create");
    assert!(
        created.status.success(),
        "admin create failed: {}",
        String::from_utf8_lossy(&created.stderr)
    );
}

/// `pointsbank serve` as a child process, killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    log: PathBuf,
}

impl Server {
    pub(crate) fn start(database: &TestDatabase, name: &str) -> Server {
        let port = free_port();
        let log = database.dir.path().join(format!("{name}.log"));
        let child = pointsbank(database, port)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("start pointsbank serve");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) async fn wait_ready(&mut self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                panic!("the server exited with {status}; log:\n{}", self.log());
            }
            let ready = client.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not become ready; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the server, waits until it is ready and signs in as the administrator.
    pub(crate) async fn serve(database: &TestDatabase, name: &str) -> (Server, Api) {
        let mut server = Server::start(database, name);
        server.wait_ready(&reqwest::Client::new()).await;
        let api = Api::connect(&server).await;
        (server, api)
    }

    /// SIGKILL: no graceful shutdown, no flushing, in-flight transactions just stop.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP client for one server with a staff token.
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
}

impl Api {
    pub(crate) async fn connect(server: &Server) -> Api {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let token = login(&client, &server.base).await;
        Api {
            client,
            base: server.base.clone(),
            token,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value, key: Option<&str>) -> Reply {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        read(request.send().await.expect("request")).await
    }

    pub(crate) async fn balance(&self, bank: i64, account: i64) -> i64 {
        let reply = self
            .get(&format!("/api/v1/banks/{bank}/accounts/{account}"))
            .await;
        minor_of(reply.ok(200)["balance"].as_str().expect("balance"))
    }

    /// Creates a village and its bank; returns (org id, bank id).
    pub(crate) async fn village(&self) -> (i64, i64) {
        let org = self
            .post(
                "/api/v1/orgs",
                &json!({"code": "330106001001", "name": "青山村"}),
                None,
            )
            .await;
        let org = org.ok(201)["id"].as_i64().unwrap();
        let bank = self
            .post(
                "/api/v1/banks",
                &json!({"org_id": org, "name": "青山村积分银行"}),
                None,
            )
            .await;
        (org, bank.ok(201)["id"].as_i64().unwrap())
    }

    /// The bank's POINTS account of a system `kind` (issuance, redemption, …).
    pub(crate) async fn system_account(&self, bank: i64, kind: &str) -> i64 {
        let accounts = self
            .get(&format!("/api/v1/banks/{bank}/accounts?limit=200"))
            .await;
        system_account_in(accounts.ok(200), "POINTS", kind)
    }

    /// Waits for the sealer, asserts the bank verifies clean, and returns the report.
    pub(crate) async fn assert_verified(&self, bank: i64) -> Value {
        for _ in 0..100 {
            let report = self.get(&format!("/api/v1/banks/{bank}/verify")).await;
            let report = report.ok(200).clone();
            assert_eq!(report["ok"], true, "verify found problems: {report}");
            if report["unsealed_entries"] == 0 {
                return report;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("entries stayed unsealed");
    }
}

/// A village's org, its bank and the bank's POINTS issuance account.
pub(crate) struct Village {
    pub(crate) org: i64,
    pub(crate) bank: i64,
    pub(crate) issuance: i64,
}

/// A fresh database with its administrator, the binary started on it and signed in to, and a
/// village's bank.
pub(crate) async fn first_start(backend: Backend) -> (TestDatabase, Server, Api, Village) {
    let database = TestDatabase::new(backend);
    create_admin(&database);
    let (server, api) = Server::serve(&database, "first").await;
    let (org, bank) = api.village().await;
    let issuance = api.system_account(bank, "issuance").await;
    (
        database,
        server,
        api,
        Village {
            org,
            bank,
            issuance,
        },
    )
}

/// The id of the `asset` wallet (`POINTS`, `HOURS`) of a member as `POST /members` answers it.
pub(crate) fn wallet_of(member: &Value, asset: &str) -> i64 {
    member["wallets"]
        .as_array()
        .expect("wallets")
        .iter()
        .find(|w| w["asset"] == asset)
        .and_then(|w| w["id"].as_i64())
        .expect("a wallet of the asset")
}

pub(crate) fn minor_of(text: &str) -> i64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, cents) = digits.split_once('.').expect("two decimals");
    assert_eq!(cents.len(), 2, "{text}");
    let minor = units.parse::<i64>().expect("units") * 100 + cents.parse::<i64>().expect("cents");
    if negative {
        -minor
    } else {
        minor
    }
}

/// What a client saw of one request sent while the server was killed.
#[derive(Debug)]
pub(crate) enum Seen {
    Answered(u16, Value),
    /// The connection broke or was refused: the request may or may not have committed.
    Lost(String),
}

impl Seen {
    /// Why the request got no answer, if it got none.
    pub(crate) fn lost(&self) -> Option<&str> {
        match self {
            Seen::Lost(error) => Some(error),
            Seen::Answered(..) => None,
        }
    }
}

pub(crate) async fn send(request: reqwest::RequestBuilder) -> Seen {
    match request.send().await {
        Err(err) => Seen::Lost(err.to_string()),
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Err(err) => Seen::Lost(err.to_string()),
                Ok(bytes) => Seen::Answered(
                    status,
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                ),
            }
        }
    }
}

/// Sends every request at once and SIGKILLs the server as soon as `kill_after` of them have been
/// answered. Every request ends (answered or broken) before this returns, so none can reach a
/// restarted server. Answers what each request saw, in order, and how many had been answered at
/// the kill.
pub(crate) async fn kill_mid_burst(
    server: &mut Server,
    requests: Vec<reqwest::RequestBuilder>,
    kill_after: usize,
) -> (Vec<Seen>, usize) {
    let answered = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let answered = answered.clone();
            tokio::spawn(async move {
                let seen = send(request).await;
                if seen.lost().is_none() {
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                seen
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while answered.load(Ordering::SeqCst) < kill_after {
        assert!(
            Instant::now() < deadline,
            "only {} requests answered; log:\n{}",
            answered.load(Ordering::SeqCst),
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill();
    let answered_at_kill = answered.load(Ordering::SeqCst);
    let mut seen = Vec::with_capacity(tasks.len());
    for task in tasks {
        seen.push(task.await.expect("request task"));
    }
    (seen, answered_at_kill)
}

on_both_backends!(
    awards_in_flight_when_the_server_is_killed_land_exactly_once_after_restart,
    |backend| async move {
        let (database, mut server, api, Village { bank, issuance, .. }) =
            first_start(backend).await;
        let mut wallets = Vec::new();
        for name in ["王秀英", "李建国", "张伟"] {
            let wallet = api
                .post(
                    &format!("/api/v1/banks/{bank}/accounts"),
                    &json!({"asset": "POINTS", "name": name}),
                    None,
                )
                .await;
            wallets.push(wallet.ok(201)["id"].as_i64().unwrap());
        }
        assert_eq!(wallets.len(), WALLETS);

        let path = format!("/api/v1/banks/{bank}/entries");
        let awards: Vec<(String, Value)> = (0..AWARDS)
            .map(|i| {
                let body = json!({"kind": "award", "memo": "巡河", "reference": format!("patrol:{i}"),
                    "postings": [
                        {"account_id": issuance, "amount": format!("-{AMOUNT}")},
                        {"account_id": wallets[i % WALLETS], "amount": AMOUNT}
                    ]});
                (format!("crash-award-{i}"), body)
            })
            .collect();

        // Fire all awards at once; kill the server as soon as KILL_AFTER have been answered.
        let url = format!("{}{path}", server.base);
        let requests = awards
            .iter()
            .map(|(key, body)| {
                api.client
                    .post(&url)
                    .bearer_auth(&api.token)
                    .header("Idempotency-Key", key)
                    .json(body)
            })
            .collect();
        let (seen, answered_at_kill) = kill_mid_burst(&mut server, requests, KILL_AFTER).await;
        let acknowledged: Vec<(usize, Value)> = seen
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Seen::Answered(201, body) => Some((i, body.clone())),
                _ => None,
            })
            .collect();
        let lost: Vec<&str> = seen.iter().filter_map(Seen::lost).collect();
        let refused: Vec<&Seen> = seen
            .iter()
            .filter(|s| matches!(s, Seen::Answered(status, _) if *status != 201))
            .collect();
        eprintln!(
            "{backend:?}: killed after {answered_at_kill} answers; {} acknowledged, {} lost \
             (e.g. {:?}), {} refused",
            acknowledged.len(),
            lost.len(),
            lost.first(),
            refused.len()
        );
        assert!(
            !lost.is_empty(),
            "the kill must interrupt awards in flight (all {AWARDS} were answered)"
        );
        assert!(
            !acknowledged.is_empty(),
            "no award was acknowledged before the kill: {refused:?}"
        );
        for refusal in &refused {
            // Under load a request may be turned away (pool or lock timeout); nothing else.
            assert!(
                matches!(refusal, Seen::Answered(503, body) if body["code"] == "service_unavailable"),
                "unexpected answer before the kill: {refusal:?}"
            );
        }

        let (mut server, api) = Server::serve(&database, "after-crash").await;

        // (1) The book survived the crash intact, and every committed entry gets sealed.
        let report = api.assert_verified(bank).await;
        let committed = report["entries_checked"].as_u64().expect("entries_checked") as usize;
        eprintln!(
            "{backend:?}: {committed} awards were committed before the crash, {} acknowledged",
            acknowledged.len()
        );
        assert!(
            committed >= acknowledged.len() && committed <= AWARDS,
            "{committed} entries committed, {} acknowledged: {report}",
            acknowledged.len()
        );

        // (2) Every award acknowledged before the kill is durable, exactly as acknowledged.
        for (i, body) in &acknowledged {
            let id = body["id"].as_i64().expect("entry id");
            let stored = api.get(&format!("{path}/{id}")).await;
            assert_eq!(
                stored.ok(200),
                body,
                "award {i} was acknowledged before the crash"
            );
        }

        // (3) Retrying every award with its key and body: each answers 201, the acknowledged
        // ones as replays of the original entry; nothing is paid twice.
        let retried: Vec<Vec<(usize, Reply)>> = {
            let api = &api;
            let (awards, path) = (&awards, &path);
            futures_util::future::join_all((0..6).map(|lane| async move {
                let mut replies = Vec::new();
                for i in (lane..AWARDS).step_by(6) {
                    let (key, body) = &awards[i];
                    replies.push((i, api.post(path, body, Some(key)).await));
                }
                replies
            }))
            .await
        };
        let mut replies: Vec<Option<Reply>> = (0..AWARDS).map(|_| None).collect();
        for (i, reply) in retried.into_iter().flatten() {
            replies[i] = Some(reply);
        }
        let replies: Vec<Reply> = replies.into_iter().map(|r| r.expect("reply")).collect();
        let mut replayed = 0;
        for (i, reply) in replies.iter().enumerate() {
            assert_eq!(reply.status, 201, "award {i} on retry: {}", reply.body);
            if reply.headers.get("idempotent-replayed").is_some() {
                assert_eq!(reply.headers["idempotent-replayed"], "true");
                replayed += 1;
            }
        }
        for (i, body) in &acknowledged {
            assert_eq!(
                replies[*i]
                    .headers
                    .get("idempotent-replayed")
                    .map(|v| v.to_str().unwrap()),
                Some("true"),
                "award {i} was committed before the crash: its retry must replay"
            );
            assert_eq!(
                &replies[*i].body, body,
                "award {i} replays the original entry"
            );
        }
        assert_eq!(
            replayed, committed,
            "exactly the awards committed before the crash replay"
        );

        let mut total = 0;
        for wallet in &wallets {
            total += api.balance(bank, *wallet).await;
        }
        assert_eq!(
            total,
            AWARDS as i64 * AMOUNT_MINOR,
            "every award paid exactly once across the crash"
        );
        assert_eq!(api.balance(bank, issuance).await, -total);

        // (4) Still intact, with exactly one entry per award.
        let report = api.assert_verified(bank).await;
        assert_eq!(report["entries_checked"], AWARDS, "{report}");

        // The offline verifier agrees once the server is stopped.
        server.kill();
        let verified = pointsbank(&database, free_port())
            .args(["ledger", "verify"])
            .stdin(Stdio::null())
            .output()
            .expect("run pointsbank ledger verify");
        let stdout = String::from_utf8_lossy(&verified.stdout);
        assert!(
            verified.status.success(),
            "ledger verify failed ({}): {stdout}\n{}",
            verified.status,
            String::from_utf8_lossy(&verified.stderr)
        );
        assert!(stdout.contains("\"ok\": true"), "{stdout}");
        assert!(
            stdout.contains(&format!("\"entries_checked\": {AWARDS}")),
            "{stdout}"
        );
    }
);
