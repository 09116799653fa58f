//! The command line: thin wrappers that call into the library.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::app;
use crate::auth::password::{check_password_rules, hash_password};
use crate::config::Settings;
use crate::db::{self, Backend, DbTarget};
use crate::domain::access::Role;
use crate::domain::ledger::{AccountKind, Asset, EntryKind, Line};
use crate::domain::money::Amount;

#[derive(Parser)]
#[command(
    name = "pointsbank",
    version,
    about = "Volunteer points bank (积分银行)"
)]
pub struct Cli {
    /// Optional TOML file with settings (keys as in the README table); env vars override it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP service (creates and migrates the database on first start).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Administrator accounts.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Ledger maintenance.
    Ledger {
        #[command(subcommand)]
        action: LedgerAction,
    },
    /// Copy a SQLite database to a file while the service runs (PostgreSQL: prints pg_dump advice).
    Backup {
        /// Destination file; must not exist.
        #[arg(long)]
        to: PathBuf,
    },
    /// Fill the database with a demo village, its volunteers and a month of activity.
    Demo,
    /// Print the OpenAPI document (this is how openapi/openapi.json is regenerated).
    Openapi,
}

#[derive(Subcommand)]
pub enum AdminAction {
    /// Create an administrator. The password is read from PB_ADMIN_PASSWORD or the first line of stdin.
    Create {
        #[arg(long)]
        phone: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum LedgerAction {
    /// Recompute seal chains and invariants; exits with status 1 if anything is broken.
    Verify {
        /// Only this bank (default: all banks).
        #[arg(long)]
        bank: Option<i64>,
    },
}

pub fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    Settings::load(cli.config.as_deref())
}

pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    app::open_database(settings)?;
    println!("database is up to date");
    Ok(())
}

pub fn create_admin(settings: &Settings, phone: &str, name: &str) -> anyhow::Result<()> {
    let password = match std::env::var("PB_ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            eprintln!("password (one line on stdin):");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    check_password_rules(&password).map_err(anyhow::Error::msg)?;
    let pool = app::open_database(settings)?;
    let mut conn = pool.get()?;
    let hash = hash_password(&password)?;
    let staff = db::write_tx(&mut conn, |c| {
        let now = db::now_micros();
        let staff = db::staff::create_staff(c, phone, name, &hash, "admin", now)?;
        db::staff::add_grant(c, staff.id, Role::PlatformAdmin, None, "cli", now)?;
        Ok::<_, crate::error::ApiError>(staff)
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("administrator {} created (staff:{})", staff.name, staff.id);
    Ok(())
}

/// Returns whether every verified bank is intact.
pub fn verify(settings: &Settings, only: Option<i64>) -> anyhow::Result<bool> {
    let pool = app::open_database(settings)?;
    let mut conn = pool.get()?;
    let banks = match only {
        Some(id) => vec![id],
        None => db::banks::list_banks(&mut conn)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .into_iter()
            .map(|b| b.id)
            .collect(),
    };
    let mut intact = true;
    for bank_id in banks {
        let verification = db::snapshot_tx(&mut conn, |c| db::verify::verify_bank(c, bank_id))
            .map_err(|e| anyhow::anyhow!("bank {bank_id}: {e}"))?;
        let report = crate::http::verify::report(verification);
        println!("{}", serde_json::to_string_pretty(&report)?);
        intact &= report.ok;
    }
    Ok(intact)
}

pub fn backup(settings: &Settings, to: &std::path::Path) -> anyhow::Result<()> {
    let target = DbTarget::parse(&settings.database_url);
    if target.backend == Backend::Postgres {
        println!(
            "PostgreSQL is backed up with its own tools, e.g.:\n  pg_dump --format=custom --file=pointsbank.dump \"$DATABASE_URL\"\n\
             and restored with pg_restore. For point-in-time recovery use WAL archiving (pgBackRest, Barman)."
        );
        return Ok(());
    }
    if to.exists() {
        bail!("{} already exists; choose a new file", to.display());
    }
    let pool = app::open_database(settings)?;
    let mut conn = pool.get()?;
    let destination = to.to_str().context("the backup path must be valid UTF-8")?;
    // VACUUM INTO writes a consistent, compacted copy while other connections keep working.
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&format!(
        "VACUUM INTO '{}'",
        destination.replace('\'', "''")
    ))?;
    println!("backed up {} to {}", target.location, to.display());
    Ok(())
}

pub const DEMO_ADMIN_PHONE: &str = "13800000000";
pub const DEMO_ADMIN_PASSWORD: &str = "demo-admin-2026";

/// Demo staff: (phone, name, role, unit code). All use `DEMO_ADMIN_PASSWORD`.
pub const DEMO_STAFF: &[(&str, &str, Role, &str)] = &[
    (DEMO_ADMIN_PHONE, "平台管理员", Role::PlatformAdmin, ""),
    ("13800000001", "青山镇管理员", Role::OrgAdmin, "330106001"),
    (
        "13800000002",
        "青山村管理员",
        Role::OrgAdmin,
        "330106001001",
    ),
    (
        "13800000003",
        "青山村活动组织者",
        Role::Organiser,
        "330106001001",
    ),
    ("13800000004", "青山村超市店员", Role::Clerk, "330106001001"),
    ("13800000005", "青山村审计员", Role::Auditor, "330106001001"),
    (
        "13800000006",
        "绿水村管理员",
        Role::OrgAdmin,
        "330106001002",
    ),
];

/// The demo township 青山镇 with villages 青山村 and 绿水村 (two grids each) and staff of each role.
fn demo_tree(
    c: &mut db::Db,
    password_hash: &str,
    now: i64,
) -> crate::error::ApiResult<db::orgs::OrgRow> {
    use db::orgs::{create_org, NewOrg, OrgKind};
    let township = create_org(
        c,
        NewOrg {
            code: "330106001",
            name: "青山镇",
            kind: OrgKind::Township,
            parent: None,
        },
        now,
    )?;
    let mut villages = Vec::new();
    for (code, name) in [("330106001001", "青山村"), ("330106001002", "绿水村")] {
        let village = create_org(
            c,
            NewOrg {
                code,
                name,
                kind: OrgKind::Village,
                parent: Some(&township),
            },
            now,
        )?;
        for grid in 1..=2 {
            let code = format!("{code}-G{grid}");
            let name = format!("{name}第{grid}网格");
            create_org(
                c,
                NewOrg {
                    code: &code,
                    name: &name,
                    kind: OrgKind::Grid,
                    parent: Some(&village),
                },
                now,
            )?;
        }
        villages.push(village);
    }
    for (phone, name, role, unit) in DEMO_STAFF {
        let staff = db::staff::create_staff(c, phone, name, password_hash, role.as_str(), now)?;
        let org_id = match *role {
            Role::PlatformAdmin => None,
            _ => Some(if *unit == township.code {
                township.id
            } else {
                villages
                    .iter()
                    .find(|v| v.code == *unit)
                    .map_or(township.id, |v| v.id)
            }),
        };
        db::staff::add_grant(c, staff.id, *role, org_id, "demo", now)?;
    }
    db::banks::create_bank(c, villages[1].id, "绿水村积分银行", now)?;
    Ok(villages.swap_remove(0))
}

/// The demo: township, villages, grids, staff of every role, and in 青山村 30 volunteers with a
/// month of awards and a reversal.
pub fn demo(settings: &Settings) -> anyhow::Result<()> {
    let pool = app::open_database(settings)?;
    let mut conn = pool.get()?;
    let hash = hash_password(DEMO_ADMIN_PASSWORD)?;
    let result = db::write_tx(&mut conn, |c| -> crate::error::ApiResult<i64> {
        let now = db::now_micros();
        let org = demo_tree(c, &hash, now)?;
        let bank = db::banks::create_bank(c, org.id, "青山村积分银行", now)?;
        let issuance =
            db::accounts::system_account(c, bank.id, Asset::Points, AccountKind::Issuance)?
                .facts()?;
        let names = [
            "王秀英",
            "李建国",
            "张伟",
            "刘芳",
            "陈静",
            "杨洋",
            "赵磊",
            "黄敏",
            "周杰",
            "吴霞",
            "徐强",
            "孙丽",
            "胡军",
            "朱艳",
            "高峰",
            "林娜",
            "何勇",
            "郭婷",
            "马超",
            "罗琳",
            "梁平",
            "宋佳",
            "郑涛",
            "谢红",
            "韩冬",
            "唐雪",
            "冯刚",
            "于燕",
            "董亮",
            "萧梅",
        ];
        let memos = [
            "防溺水巡河",
            "反诈宣传进农户",
            "环境卫生整治日",
            "疫情防控值守",
            "关爱独居老人",
        ];
        let mut first_award = None;
        for (i, name) in names.iter().enumerate() {
            let wallet = db::accounts::open_member_account(
                c,
                bank.id,
                Asset::Points,
                name,
                Some(&format!("member:{}", i + 1)),
                now,
            )?;
            let award = db::ledger::post_entry(
                c,
                db::ledger::NewEntry {
                    bank_id: bank.id,
                    kind: EntryKind::Award,
                    memo: memos[i % memos.len()],
                    reference: Some("demo"),
                    actor: "staff:1",
                    reverses_entry_id: None,
                    lines: vec![
                        Line {
                            account: issuance,
                            amount: Amount::units(-(10 + (i as i64 % 5) * 5)),
                        },
                        Line {
                            account: wallet.facts()?,
                            amount: Amount::units(10 + (i as i64 % 5) * 5),
                        },
                    ],
                },
                now,
            )?;
            first_award.get_or_insert(award.entry.id);
        }
        if let Some(entry_id) = first_award {
            db::ledger::reverse_entry(
                c,
                bank.id,
                entry_id,
                "演示：录入错误，冲正",
                "staff:1",
                now,
            )?;
        }
        Ok(bank.id)
    });
    match result {
        Ok(bank_id) => {
            println!("demo village 青山村 created: bank {bank_id}, 30 volunteers");
            println!("staff (password {DEMO_ADMIN_PASSWORD}):");
            for (phone, name, role, _) in DEMO_STAFF {
                println!("  {phone}  {name}  {role}");
            }
            Ok(())
        }
        Err(crate::error::ApiError::AlreadyExists(_)) => {
            bail!("this database already has demo data")
        }
        Err(err) => bail!("demo failed: {err}"),
    }
}
