//! The command line: thin wrappers that call into the library.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::app;
use crate::auth::password::{check_password_rules, hash_password};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::db::{self, Backend, DbTarget};
use crate::domain::access::Role;
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::{AccountKind, Asset, EntryKind, Line};

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
    /// Fill the database with a demo township: two villages, grids, staff of every role, 200 members.
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
    let store = app::open_store(settings, Arc::new(SystemClock))?;
    let hash = hash_password(&password)?;
    let now = store.now();
    let staff = store
        .write(|c| {
            let staff = db::access::staff::create_staff(c, phone, name, &hash, "admin", now)?;
            db::access::staff::add_grant(c, staff.id, Role::PlatformAdmin, None, "cli", now)?;
            Ok::<_, crate::error::ServiceError>(staff)
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
        None => db::ledger::banks::list_banks(&mut conn)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .into_iter()
            .map(|b| b.id)
            .collect(),
    };
    let mut intact = true;
    for bank_id in banks {
        let verification =
            db::snapshot_tx(&mut conn, |c| db::ledger::verify::verify_bank(c, bank_id))
                .map_err(|e| anyhow::anyhow!("bank {bank_id}: {e}"))?;
        let report = crate::http::ledger::verify::report(verification);
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

/// How many members the demo registers (120 in 青山村, 80 in 绿水村).
pub const DEMO_MEMBERS: usize = 200;

struct DemoVillage {
    org: db::access::orgs::OrgRow,
    grids: Vec<db::access::orgs::OrgRow>,
    bank_id: i64,
}

/// The demo township 青山镇 with villages 青山村 and 绿水村 (two grids and a bank each) and staff
/// of each role.
fn demo_tree(
    c: &mut db::Db,
    password_hash: &str,
    now: i64,
) -> crate::error::ServiceResult<Vec<DemoVillage>> {
    use db::access::orgs::{create_org, NewOrg, OrgKind};
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
        let org = create_org(
            c,
            NewOrg {
                code,
                name,
                kind: OrgKind::Village,
                parent: Some(&township),
            },
            now,
        )?;
        let mut grids = Vec::new();
        for grid in 1..=2 {
            let code = format!("{code}-G{grid}");
            let name = format!("{name}第{grid}网格");
            grids.push(create_org(
                c,
                NewOrg {
                    code: &code,
                    name: &name,
                    kind: OrgKind::Grid,
                    parent: Some(&org),
                },
                now,
            )?);
        }
        let bank_id =
            db::ledger::banks::create_bank(c, org.id, &format!("{name}积分银行"), now)?.id;
        villages.push(DemoVillage {
            org,
            grids,
            bank_id,
        });
    }
    for (phone, name, role, unit) in DEMO_STAFF {
        let staff =
            db::access::staff::create_staff(c, phone, name, password_hash, role.as_str(), now)?;
        let org_id = match *role {
            Role::PlatformAdmin => None,
            _ if *unit == township.code => Some(township.id),
            _ => villages
                .iter()
                .find(|v| v.org.code == *unit)
                .map(|v| v.org.id),
        };
        db::access::staff::add_grant(c, staff.id, *role, org_id, "demo", now)?;
    }
    Ok(villages)
}

/// The demo: township, villages, grids, staff of every role, 200 members with cards and wallets,
/// and in 青山村 a month of awards for 30 volunteers and one reversal.
pub fn demo(settings: &Settings) -> anyhow::Result<()> {
    let store = app::open_store(settings, Arc::new(SystemClock))?;
    let hash = hash_password(DEMO_ADMIN_PASSWORD)?;
    let now = store.now();
    let result = store.write(|c| -> crate::error::ServiceResult<i64> {
        let villages = demo_tree(c, &hash, now)?;
        let surnames = [
            "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱",
            "高", "林", "何", "郭", "马", "罗",
        ];
        let given = [
            "秀英", "建国", "伟", "芳", "静", "洋", "磊", "敏", "杰", "霞",
        ];
        let tags = ["志愿者", "党员,志愿者", "学生", "", "志愿者"];
        let qingshan = &villages[0];
        let patrol_rule = crate::demo::catalogue(c, qingshan.bank_id, qingshan.org.id, now)?;
        let issuance = db::ledger::accounts::system_account(
            c,
            qingshan.bank_id,
            Asset::Points,
            AccountKind::Issuance,
        )?
        .facts()?;
        let mut first_award = None;
        for i in 0..DEMO_MEMBERS {
            let village = if i < 120 { &villages[0] } else { &villages[1] };
            let name = format!(
                "{}{}",
                surnames[i % surnames.len()],
                given[(i / surnames.len()) % given.len()]
            );
            let phone = format!("139{:08}", 10_000 + i);
            let household = format!("{}组{}号", i % 6 + 1, i / 2 + 1);
            let new = db::members::NewMember {
                org_id: village.grids[i % 2].id,
                name: &name,
                phone: Some(&phone),
                id_card: None,
                household: Some(&household),
                tags: tags[i % tags.len()],
                allow_proxy: i % 10 == 9,
            };
            let (member, _) = db::members::create_member(c, new, now)?;
            if i >= 30 {
                continue;
            }
            let wallet = db::members::wallets_of(c, member.id)?
                .into_iter()
                .find(|w| w.asset == Asset::Points.as_str())
                .ok_or(crate::error::ServiceError::NotFound("wallet"))?;
            let points = 15;
            let award = db::ledger::post_entry(
                c,
                db::ledger::NewEntry {
                    bank_id: qingshan.bank_id,
                    kind: EntryKind::Award,
                    memo: "防溺水巡河（每次）",
                    reference: Some("demo"),
                    actor: "staff:1",
                    reverses_entry_id: None,
                    rule_id: Some(patrol_rule),
                    origin: Some(crate::domain::ledger::Origin::StaffAward),
                    lines: vec![
                        Line {
                            account: issuance,
                            amount: Amount::units(-points),
                        },
                        Line {
                            account: wallet.facts()?,
                            amount: Amount::units(points),
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
                qingshan.bank_id,
                entry_id,
                "演示：录入错误，冲正",
                "staff:1",
                now,
            )?;
        }
        Ok(qingshan.bank_id)
    });
    match result {
        Ok(bank_id) => {
            println!("demo township 青山镇 created: villages 青山村 (bank {bank_id}) and 绿水村, {DEMO_MEMBERS} members, 30 volunteers with awards");
            println!("青山村 also has 4 points rules, an activity tomorrow (sign-up open) and a points supermarket with 4 goods");
            println!("staff (password {DEMO_ADMIN_PASSWORD}):");
            for (phone, name, role, _) in DEMO_STAFF {
                println!("  {phone}  {name}  {role}");
            }
            Ok(())
        }
        Err(crate::error::ServiceError::AlreadyExists(_)) => {
            bail!("this database already has demo data")
        }
        Err(err) => bail!("demo failed: {err}"),
    }
}
