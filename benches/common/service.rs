//! A fresh database per backend and the real service started in-process.

use super::*;
use pointsbank::clock::{Clock, SystemClock};

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
                                ..
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
pub fn create_village(
    conn: &mut Db,
    admin_hash: &str,
) -> pointsbank::error::ServiceResult<Village> {
    let now = SystemClock.now_micros();
    let staff = db::access::staff::create_staff(
        conn,
        ADMIN_PHONE,
        "Bench Admin",
        admin_hash,
        "admin",
        now,
    )?;
    db::access::staff::add_grant(
        conn,
        staff.id,
        pointsbank::domain::access::Role::PlatformAdmin,
        None,
        "bench",
        now,
    )?;
    let org = db::access::orgs::create_org(
        conn,
        db::access::orgs::NewOrg {
            code: "bench",
            name: "青山村",
            kind: db::access::orgs::OrgKind::Village,
            parent: None,
        },
        now,
    )?;
    let bank = db::ledger::banks::create_bank(conn, org.id, "青山村积分银行", now)?;
    Ok(Village {
        staff_id: staff.id,
        org_id: org.id,
        org_path: org.path,
        bank_id: bank.id,
    })
}

/// The keys the service signs access tokens with, for minting members' tokens as it does.
pub fn token_keys(settings: &Settings) -> pointsbank::auth::jwt::TokenKeys {
    pointsbank::auth::jwt::TokenKeys::new(
        settings.jwt_secret.as_bytes(),
        &settings.jwt_issuer,
        &settings.jwt_audience,
        settings.access_token_ttl_seconds,
    )
}

/// Binds a WeChat account to the member as of `now` (a member's token is only good with a
/// binding, made at the `bound_at` it carries).
pub fn bind_wechat(conn: &mut Db, member_id: i64, now: i64) -> diesel::QueryResult<()> {
    use pointsbank::db::schema::wechat_bindings;
    diesel::insert_into(wechat_bindings::table)
        .values((
            wechat_bindings::openid.eq(format!("o-bench-{member_id}")),
            wechat_bindings::member_id.eq(member_id),
            wechat_bindings::bound_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
