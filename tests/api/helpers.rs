//! `spawn_app()`: the real service on a random port over a fresh database, and a typed client.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use std::sync::Arc;

use pointsbank::app;
use pointsbank::auth::password::hash_password;
use pointsbank::clock::{Clock, ShiftedClock};
use pointsbank::config::Settings;
use pointsbank::db;
use pointsbank::domain::access::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const ADMIN_PHONE: &str = "13900000000";
pub const ADMIN_PASSWORD: &str = "test-admin-password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body on each backend. The PostgreSQL twin is compiled in as ignored (and so
/// reported as not run, never as passed) unless `PB_TEST_POSTGRES_URL` was set when the tests
/// were built (build.rs); CI sets it and `.ci/run` fails without PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let run = $body;
                run($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(pb_postgres),
                ignore = "needs PostgreSQL: build and run with PB_TEST_POSTGRES_URL set"
            )]
            async fn postgres() {
                let run = $body;
                run($crate::helpers::Backend::Postgres).await;
            }
        }
    };
}

pub fn postgres_available() -> bool {
    std::env::var("PB_TEST_POSTGRES_URL").is_ok()
}

/// A fresh, empty database of the backend: a SQLite file in a temp dir, or a new PostgreSQL
/// database that is dropped again when the value is dropped.
pub struct TestDatabase {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

impl TestDatabase {
    pub fn new(backend: Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDatabase {
                url: format!("sqlite://{}", dir.path().join("test.db").display()),
                dir,
                pg_drop: None,
            },
            Backend::Postgres => {
                let admin_url =
                    std::env::var("PB_TEST_POSTGRES_URL").expect("PB_TEST_POSTGRES_URL");
                let name = format!("pb_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    diesel::PgConnection::establish(&admin_url).expect("PostgreSQL reachable");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("URL with a database name");
                TestDatabase {
                    url: format!("{base}/{name}"),
                    dir,
                    pg_drop: Some((admin_url, name)),
                }
            }
        }
    }
}

impl TestDatabase {
    /// A database the caller created and will remove itself.
    #[allow(dead_code)]
    pub fn at(url: String) -> TestDatabase {
        TestDatabase {
            url,
            dir: tempfile::tempdir().expect("temp dir"),
            pg_drop: None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take() {
            if let Ok(mut admin) = diesel::PgConnection::establish(&admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

// Not every test module reads every field.
#[allow(dead_code)]
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub token: String,
    pub backend: Backend,
    pub pool: db::Pool,
    /// Signs member tokens as WeChat sign-in would (the WeChat flow has its own tests).
    pub keys: pointsbank::auth::jwt::TokenKeys,
    /// Signs check-in tokens the way the server does (for expired and foreign tokens).
    pub card_secret: String,
    /// The service's clock: `app.clock.advance(..)` steps over a time window instead of waiting.
    pub clock: Arc<ShiftedClock>,
    // Field order matters: the server stops before its database is dropped.
    _running: RunningServer,
    pub database: TestDatabase,
}

struct RunningServer {
    handle: actix_web::dev::ServerHandle,
    _upkeep: pointsbank::worker::Upkeep,
    _mail: Option<pointsbank::mail::sender::MailSender>,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop accepting and close the pool's users; do not wait for graceful shutdown.
        drop(handle.stop(false));
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tune: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TestDatabase::new(backend), backend, tune).await
}

/// The service on a database the test made itself (e.g. on a PostgreSQL cluster it controls).
pub async fn spawn_app_on(
    database: TestDatabase,
    backend: Backend,
    tune: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::for_instance(&database.url, database.dir.path());
    settings.workers = 2;
    settings.db_pool_size = if backend == Backend::Postgres { 6 } else { 4 };
    tune(&mut settings);
    let keys = pointsbank::auth::jwt::TokenKeys::new(
        settings.jwt_secret.as_bytes(),
        &settings.jwt_issuer,
        &settings.jwt_audience,
        settings.access_token_ttl_seconds,
    );
    let card_secret = settings.card_secret.clone();
    let clock = ShiftedClock::new();
    let running = app::start_with_clock(settings, clock.clone()).expect("service starts");
    let handle = running.server.handle();
    tokio::spawn(running.server);
    let pool = running.pool.clone();
    {
        let mut conn = pool.get().expect("connection");
        let hash = hash_password(ADMIN_PASSWORD).expect("hash");
        db::write_tx(&mut conn, |c| {
            let now = clock.now_micros();
            let admin =
                db::access::staff::create_staff(c, ADMIN_PHONE, "Test Admin", &hash, "admin", now)?;
            db::access::staff::add_grant(c, admin.id, Role::PlatformAdmin, None, "test", now)
        })
        .expect("admin created");
    }
    let base = format!("http://127.0.0.1:{}", running.port);
    let client = reqwest::Client::new();
    let token = login(&client, &base).await;
    TestApp {
        base,
        client,
        token,
        backend,
        pool,
        keys,
        card_secret,
        clock,
        _running: RunningServer {
            handle,
            _upkeep: running.upkeep,
            _mail: running.mail,
        },
        database,
    }
}

pub async fn login(client: &reqwest::Client, base: &str) -> String {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"phone": ADMIN_PHONE, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("login body");
    body["access_token"].as_str().expect("token").to_string()
}

/// A response, read whole: status, headers and JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts an RFC 9457 problem with this status and code, and returns it.
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(
            content_type, "application/problem+json",
            "body: {}",
            self.body
        );
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["type"], format!("urn:pointsbank:problem:{code}"));
        assert_eq!(self.body["status"], status);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(self.body["request_id"].as_str().is_some());
        &self.body
    }

    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        &self.body
    }
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// The test village: one bank, its issuance account, and helpers to move points.
pub struct Village {
    pub bank: i64,
    pub issuance: i64,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Reply {
        read(
            self.client
                .get(self.url(path))
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.post_with_key(path, body, None).await
    }

    pub async fn post_with_key(&self, path: &str, body: Value, key: Option<&str>) -> Reply {
        let mut request = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        read(request.send().await.expect("request")).await
    }

    /// Creates an org and a bank and finds the bank's POINTS issuance account.
    pub async fn village(&self) -> Village {
        let code = uuid::Uuid::new_v4().simple().to_string();
        let org = self
            .post("/api/v1/orgs", json!({"code": code, "name": "青山村"}))
            .await;
        let org_id = org.ok(201)["id"].as_i64().unwrap();
        let bank = self
            .post(
                "/api/v1/banks",
                json!({"org_id": org_id, "name": "青山村积分银行"}),
            )
            .await;
        let bank = bank.ok(201)["id"].as_i64().unwrap();
        let issuance = self.system_account(bank, "POINTS", "issuance").await;
        Village { bank, issuance }
    }

    pub async fn system_account(&self, bank: i64, asset: &str, kind: &str) -> i64 {
        let page = self
            .get(&format!("/api/v1/banks/{bank}/accounts?limit=200"))
            .await;
        system_account_in(page.ok(200), asset, kind)
    }

    pub async fn wallet(&self, village: &Village, name: &str) -> i64 {
        let reply = self
            .post(
                &format!("/api/v1/banks/{}/accounts", village.bank),
                json!({"asset": "POINTS", "name": name}),
            )
            .await;
        reply.ok(201)["id"].as_i64().unwrap()
    }

    pub async fn award(&self, village: &Village, wallet: i64, amount: &str) -> Reply {
        let negated = format!("-{amount}");
        self.post(
            &format!("/api/v1/banks/{}/entries", village.bank),
            json!({"kind": "award", "memo": "巡河", "postings": [
                {"account_id": village.issuance, "amount": negated},
                {"account_id": wallet, "amount": amount}
            ]}),
        )
        .await
    }

    pub async fn deduct_body(village: &Village, wallet: i64, amount: &str) -> Value {
        json!({"kind": "deduct", "memo": "违反村规民约", "postings": [
            {"account_id": wallet, "amount": format!("-{amount}")},
            {"account_id": village.issuance, "amount": amount}
        ]})
    }

    pub async fn account(&self, village: &Village, account: i64) -> Value {
        self.get(&format!(
            "/api/v1/banks/{}/accounts/{account}",
            village.bank
        ))
        .await
        .ok(200)
        .clone()
    }

    pub async fn balance(&self, village: &Village, account: i64) -> String {
        self.account(village, account).await["balance"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits for the sealer, then asserts the bank verifies clean, and returns the report.
    pub async fn assert_verified(&self, village: &Village) -> Value {
        for _ in 0..50 {
            let report = self
                .get(&format!("/api/v1/banks/{}/verify", village.bank))
                .await;
            let report = report.ok(200).clone();
            assert_eq!(report["ok"], true, "verify found problems: {report}");
            if report["unsealed_entries"] == 0 {
                return report;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("entries stayed unsealed");
    }
}

/// A registered member with their wallets and a signed-in mini-program token.
#[allow(dead_code)]
pub struct TestMember {
    pub id: i64,
    pub points: i64,
    pub hours: i64,
    pub token: String,
    pub card_number: String,
}

#[allow(dead_code)]
impl TestApp {
    /// The org unit that owns a village's bank.
    pub async fn org_of(&self, village: &Village) -> i64 {
        self.get(&format!("/api/v1/banks/{}", village.bank))
            .await
            .ok(200)["org_id"]
            .as_i64()
            .unwrap()
    }

    /// Registers a member in the village (with a fresh phone number) and signs them in.
    pub async fn member(&self, village: &Village, name: &str) -> TestMember {
        self.member_with(village, json!({"name": name})).await
    }

    /// Registers a member with extra fields (e.g. `allow_proxy`).
    pub async fn member_with(&self, village: &Village, mut fields: Value) -> TestMember {
        let org_id = self.org_of(village).await;
        let phone = format!("139{:08}", unique_digits());
        fields["org_id"] = json!(org_id);
        if fields.get("phone").is_none() {
            fields["phone"] = json!(phone);
        }
        let created = self.post("/api/v1/members", fields).await;
        let created = created.ok(201);
        let wallet = |asset: &str| {
            created["wallets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["asset"] == asset)
                .and_then(|w| w["id"].as_i64())
                .unwrap()
        };
        let id = created["id"].as_i64().unwrap();
        TestMember {
            id,
            points: wallet("POINTS"),
            hours: wallet("HOURS"),
            token: self.member_token(id),
            card_number: created["card_number"].as_str().unwrap().to_string(),
        }
    }

    /// Now by the service's clock, in microseconds since the epoch.
    pub fn now(&self) -> i64 {
        self.clock.now_micros()
    }

    /// Moves the service's clock just past `deadline` (an RFC 3339 timestamp of a reply).
    pub fn step_past(&self, deadline: &str) {
        let deadline = chrono::DateTime::parse_from_rfc3339(deadline)
            .expect("an RFC 3339 timestamp")
            .timestamp_micros();
        let ahead = (deadline - self.now() + 1_000_000).max(0);
        self.clock
            .advance(std::time::Duration::from_micros(ahead as u64));
    }

    /// A member access token as WeChat sign-in issues it: for a binding of the member's WeChat
    /// account (recorded here directly; the WeChat flow itself is tested in `wechat`).
    pub fn member_token(&self, member_id: i64) -> String {
        use diesel::prelude::*;
        use pointsbank::db::schema::wechat_bindings;
        let mut conn = self.pool.get().unwrap();
        let bound_at = match db::access::wechat::bound_at(&mut conn, member_id).unwrap() {
            Some(at) => at,
            None => {
                let now = self.now();
                diesel::insert_into(wechat_bindings::table)
                    .values((
                        wechat_bindings::openid.eq(format!("o-test-{member_id}")),
                        wechat_bindings::member_id.eq(member_id),
                        wechat_bindings::bound_at.eq(now),
                    ))
                    .execute(&mut *conn)
                    .unwrap();
                now
            }
        };
        let now = chrono::Utc::now().timestamp();
        self.keys.issue_member(member_id, bound_at, now).unwrap()
    }

    /// A request with another bearer token (a member's, or another staff member's).
    pub async fn send_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request")).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send_as(&self.token, "PUT", path, Some(body)).await
    }

    /// The balance of a member wallet as a decimal string.
    pub async fn wallet_balance(&self, village: &Village, wallet: i64) -> String {
        self.balance(village, wallet).await
    }

    /// Creates a staff member with one grant on `org_id` and returns their access token.
    pub async fn staff_with_role(&self, role: &str, org_id: i64) -> String {
        let phone = format!("137{:08}", unique_digits());
        let password = "staff-password-1";
        let created = self
            .post(
                "/api/v1/staff",
                json!({"phone": phone, "name": role, "password": password}),
            )
            .await;
        let id = created.ok(201)["id"].as_i64().unwrap();
        self.post(
            &format!("/api/v1/staff/{id}/grants"),
            json!({"role": role, "org_id": org_id}),
        )
        .await
        .ok(201);
        let reply = read(
            self.client
                .post(self.url("/api/v1/auth/login"))
                .json(&json!({"phone": phone, "password": password}))
                .send()
                .await
                .expect("login"),
        )
        .await;
        reply.ok(200)["access_token"].as_str().unwrap().to_string()
    }
}

/// The id of the system account of `asset` and `kind` in a page of `GET …/accounts`.
pub fn system_account_in(page: &Value, asset: &str, kind: &str) -> i64 {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["asset"] == asset && a["kind"] == kind)
        .and_then(|a| a["id"].as_i64())
        .expect("system account")
}

/// Eight digits no other call in this test process returns: phone numbers must be unique per
/// database, and random ones collided now and then among 500 members (a flaky 409).
pub fn unique_digits() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = (uuid::Uuid::new_v4().as_u128() % 50_000_000) as u32;
    let _ = NEXT.compare_exchange(0, start, Ordering::SeqCst, Ordering::SeqCst);
    NEXT.fetch_add(1, Ordering::SeqCst) % 100_000_000
}

/// Eight random digits for unique codes.
pub fn rand_digits() -> u32 {
    (uuid::Uuid::new_v4().as_u128() % 100_000_000) as u32
}

/// Another instance of the service on the same database (as behind a load balancer).
#[allow(dead_code)]
pub struct SecondInstance {
    pub base: String,
    _running: RunningServer,
}

#[allow(dead_code)]
impl TestApp {
    pub fn second_instance(&self, tune: impl FnOnce(&mut Settings)) -> SecondInstance {
        let mut settings = Settings::for_instance(&self.database.url, self.database.dir.path());
        settings.workers = 2;
        settings.db_pool_size = 4;
        tune(&mut settings);
        let running =
            app::start_with_clock(settings, self.clock.clone()).expect("second instance starts");
        let handle = running.server.handle();
        tokio::spawn(running.server);
        SecondInstance {
            base: format!("http://127.0.0.1:{}", running.port),
            _running: RunningServer {
                handle,
                _upkeep: running.upkeep,
                _mail: running.mail,
            },
        }
    }
}
