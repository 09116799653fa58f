//! The database goes away and comes back: requests are told to retry at once (503 with
//! `Retry-After`), never shown a 500, nothing is half-written, and service resumes by itself.
//! The test runs its own PostgreSQL cluster (own port, own data directory) so that it can stop
//! it; the shared server on 5432 is never touched.

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::*;

/// A throw-away PostgreSQL cluster run by the `postgres` user (initdb refuses root).
struct OwnCluster {
    data_dir: String,
    port: u16,
}

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// Runs a PostgreSQL tool as the `postgres` user when the tests run as root.
fn as_postgres(tool: &str, args: &[&str]) -> std::process::Output {
    let program = format!("{BIN}/{tool}");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    let mut command = if root {
        let mut runuser = Command::new("runuser");
        runuser.args(["-u", "postgres", "--", &program]);
        runuser
    } else {
        Command::new(&program)
    };
    command.args(args).output().expect("run a PostgreSQL tool")
}

/// Stops the server at once, as a crash or a failover would, cutting every connection.
fn stop_now(data_dir: &str) -> std::process::Output {
    as_postgres("pg_ctl", &["-D", data_dir, "-m", "immediate", "-w", "stop"])
}

impl OwnCluster {
    fn start() -> OwnCluster {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let data_dir = format!("/tmp/pb-outage-{}", uuid::Uuid::new_v4().simple());
        let out = as_postgres(
            "initdb",
            &["-D", &data_dir, "-A", "trust", "-U", "postgres"],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = OwnCluster { data_dir, port };
        cluster.resume();
        cluster
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    fn resume(&self) {
        let options = format!("-p {} -k /tmp -c listen_addresses=127.0.0.1", self.port);
        let log = format!("{}/server.log", self.data_dir);
        let out = as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir,
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        stop_now(&self.data_dir);
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn rule_body() -> serde_json::Value {
    json!({"code": "PATROL", "name": "防溺水巡河", "category": "volunteer_service",
           "default_points": "1", "min_points": "1", "max_points": "10"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pb_postgres),
    ignore = "needs PostgreSQL: build and run with PB_TEST_POSTGRES_URL set"
)]
async fn a_database_outage_is_answered_503_at_once_loses_nothing_and_heals_itself() {
    let cluster = OwnCluster::start();
    {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut admin = diesel::PgConnection::establish(&cluster.url("postgres")).unwrap();
        admin.batch_execute("CREATE DATABASE pb").unwrap();
    }
    let app = spawn_app_on(
        TestDatabase::at(cluster.url("pb")),
        Backend::Postgres,
        |_| {},
    )
    .await;
    let village = app.village().await;
    let rule = app
        .post(
            &format!("/api/v1/banks/{}/rules", village.bank),
            rule_body(),
        )
        .await;
    let rule_id = rule.ok(201)["id"].as_i64().unwrap();
    let member = app.member(&village, "林静").await;
    let awards = format!("/api/v1/banks/{}/awards", village.bank);
    let body = json!({"rule_id": rule_id, "member_ids": [member.id]});
    let (app_ref, awards_ref, body_ref) = (&app, &awards, &body);
    let award = move |key: String| async move {
        app_ref
            .post_with_key(awards_ref, body_ref.clone(), Some(&key))
            .await
    };
    let keys: Vec<String> = (0..24).map(|n| format!("outage-award-{n}")).collect();

    // Awards in flight while the server goes down: each either committed or was told to retry.
    // (A 503 cannot promise that nothing was written: the server may have gone away between its
    // commit and its answer. So the client retries with the same key, as the contract says.)
    let in_flight = join_all(keys.iter().map(|key| award(key.clone())));
    let data_dir = cluster.data_dir.clone();
    let stopper = async move {
        tokio::time::sleep(Duration::from_millis(40)).await;
        let out = tokio::task::spawn_blocking(move || stop_now(&data_dir))
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (replies, ()) = tokio::join!(in_flight, stopper);
    let mut told_to_retry = Vec::new();
    for (reply, key) in replies.iter().zip(&keys) {
        if reply.status.as_u16() != 201 {
            reply.problem(503, "service_unavailable");
            assert!(reply.headers.contains_key("retry-after"));
            told_to_retry.push(key.clone());
        }
    }

    // While it is down: every request is refused at once, with a reason and a retry hint.
    for _ in 0..5 {
        let started = Instant::now();
        let ready = read(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
        ready.problem(503, "service_unavailable");
        let refused = award("outage-while-down".into()).await;
        refused.problem(503, "service_unavailable");
        assert!(refused.headers.contains_key("retry-after"));
        app.get(&format!("/api/v1/members/{}", member.id))
            .await
            .problem(503, "service_unavailable");
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(1),
            "three refusals took {elapsed:?}"
        );
    }

    // Back up: the service recovers without a restart, and the ledger holds what committed.
    cluster.resume();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = read(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
        if ready.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still not ready: {}", ready.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every award told to retry is retried with its key: each of the 24 is paid exactly once.
    for key in &told_to_retry {
        app.post_with_key(&awards, body.clone(), Some(key))
            .await
            .ok(201);
    }
    award("outage-while-down".into()).await.ok(201);
    assert_eq!(app.wallet_balance(&village, member.points).await, "25.00");
    app.assert_verified(&village).await;
}
