//! The command line on a real database: demo, verify, backup.

use std::process::Command;

use crate::helpers::*;

fn pointsbank(database: &TestDatabase, args: &[&str]) -> std::process::Output {
    pointsbank_on(&database.url, database, args)
}

fn pointsbank_on(url: &str, database: &TestDatabase, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pointsbank"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("PB_DATA_DIR", database.dir.path())
        .env("PB_LOG", "warn")
        .output()
        .expect("pointsbank runs")
}

fn run_ok(database: &TestDatabase, args: &[&str]) -> String {
    let output = pointsbank(database, args);
    assert!(
        output.status.success(),
        "pointsbank {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn demo_verify_and_backup(backend: Backend) {
    let database = TestDatabase::new(backend);
    run_ok(&database, &["migrate"]);
    let demo = run_ok(&database, &["demo"]);
    assert!(demo.contains("30 volunteers"), "{demo}");
    let settings = pointsbank::config::Settings::for_instance(&database.url, database.dir.path());
    let pool = pointsbank::app::open_database(&settings).expect("database opens");
    let members = pointsbank::db::members::list_under(
        &mut pool.get().unwrap(),
        &["/".to_string()],
        None,
        1000,
    )
    .unwrap();
    assert_eq!(members.len(), 200, "the demo registers 200 members");
    drop(pool);
    let again = pointsbank(&database, &["demo"]);
    assert!(
        !again.status.success(),
        "a second demo run must refuse, not duplicate"
    );

    let output = run_ok(&database, &["ledger", "verify"]);
    let reports: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&output)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("one JSON report per bank");
    assert_eq!(reports.len(), 2, "青山村 and 绿水村 each have a bank");
    assert!(reports.iter().all(|r| r["ok"] == true), "{output}");
    let entries: u64 = reports
        .iter()
        .map(|r| r["entries_checked"].as_u64().unwrap())
        .sum();
    assert_eq!(entries, 31, "30 awards and one reversal");

    let copy = database.dir.path().join("backup.db");
    let copy_arg = copy.to_str().unwrap();
    let backup = run_ok(&database, &["backup", "--to", copy_arg]);
    match backend {
        Backend::Sqlite => {
            assert!(copy.exists(), "{backup}");
            let restored = pointsbank_on(
                &format!("sqlite://{copy_arg}"),
                &database,
                &["ledger", "verify"],
            );
            assert!(restored.status.success());
            let report = String::from_utf8_lossy(&restored.stdout);
            assert!(
                report.contains("\"ok\": true") && report.contains("\"entries_checked\": 31"),
                "{report}"
            );
            assert!(
                !pointsbank(&database, &["backup", "--to", copy_arg])
                    .status
                    .success(),
                "never overwrite a backup"
            );
        }
        Backend::Postgres => assert!(backup.contains("pg_dump"), "{backup}"),
    }
}

#[test]
fn demo_data_verifies_and_backs_up_on_sqlite() {
    demo_verify_and_backup(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(pb_postgres),
    ignore = "needs PostgreSQL: build and run with PB_TEST_POSTGRES_URL set"
)]
fn demo_data_verifies_and_backs_up_on_postgres() {
    demo_verify_and_backup(Backend::Postgres);
}

#[test]
fn production_mode_refuses_to_start_without_a_secret() {
    let database = TestDatabase::new(Backend::Sqlite);
    let output = Command::new(env!("CARGO_BIN_EXE_pointsbank"))
        .arg("serve")
        .env("DATABASE_URL", &database.url)
        .env("PB_ENV", "production")
        .env("PB_BIND", "127.0.0.1:0")
        .env_remove("PB_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("PB_JWT_SECRET"));
}
