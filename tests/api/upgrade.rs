//! Upgrading a database that is in use: the migrations after a release run over real rows, and
//! what people hold afterwards (staff and member sessions, WeChat bindings) still works.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::on_both_backends;
use crate::store::store_on;
use pointsbank::clock::{Clock, SystemClock};
use pointsbank::db::access::refresh_sessions::{Holder, SessionKind};
use pointsbank::db::DbTarget;
use pointsbank::service::access::sessions;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The first migration that runs over the data written below: the rebuild of SQLite's primary
/// keys, then the merge of the two session tables into one.
const UPGRADE_FROM: &str = "2026-12-03-000022";

const HOUR: i64 = 3_600_000_000;

fn hashed(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A database as the release before the upgrade left it, in use: one staff member and one member
/// signed in, the member bound to WeChat.
fn in_use_before_upgrade(conn: &mut impl SimpleConnection, now: i64) {
    let (staff_token, member_token) = (hashed("rt_before_upgrade"), hashed("mrt_before_upgrade"));
    let (expires, binding) = (now + 24 * HOUR, now - HOUR);
    conn.batch_execute(&format!(
        "INSERT INTO orgs (id, code, name, created_at, kind, path) VALUES (1, '330106001001', '青山村', {now}, 'village', '/1/');
         INSERT INTO staff (id, phone, name, password_hash, role, active, created_at)
             VALUES (1, '13800000001', '王书记', 'argon2-hash', 'staff', TRUE, {now});
         INSERT INTO members (id, org_id, name, tags, status, allow_proxy, card_version, created_at)
             VALUES (1, 1, '王秀英', '', 'active', FALSE, 1, {now});
         INSERT INTO wechat_bindings (openid, member_id, bound_at) VALUES ('o-wang', 1, {binding});
         INSERT INTO refresh_tokens (staff_id, family, token_hash, created_at, expires_at)
             VALUES (1, 'family-staff', '{staff_token}', {now}, {expires});
         INSERT INTO member_refresh_tokens (member_id, binding, family, token_hash, created_at, expires_at)
             VALUES (1, {binding}, 'family-member', '{member_token}', {now}, {expires});"
    ))
    .expect("the old release's rows are written");
}

/// Migrates up to (not including) `UPGRADE_FROM`, writes the rows, then runs the rest.
fn upgrade_in_use(backend: Backend, url: &str, now: i64) {
    fn run<C: MigrationHarness<B> + SimpleConnection, B: diesel::backend::Backend>(
        conn: &mut C,
        migrations: EmbeddedMigrations,
        now: i64,
    ) {
        let pending = conn
            .pending_migrations(migrations)
            .expect("migrations listed");
        let (before, after): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|m| m.name().to_string().as_str() < UPGRADE_FROM);
        assert!(!after.is_empty(), "the upgrade migrations exist");
        for migration in &before {
            conn.run_migration(migration).expect("old migration runs");
        }
        in_use_before_upgrade(conn, now);
        for migration in &after {
            conn.run_migration(migration)
                .expect("upgrade migration runs over data");
        }
    }
    let location = DbTarget::parse(url).location;
    match backend {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(&location).expect("SQLite opens");
            run(&mut conn, SQLITE, now);
        }
        Backend::Postgres => {
            let mut conn = PgConnection::establish(&location).expect("PostgreSQL opens");
            run(&mut conn, POSTGRES, now);
        }
    }
}

on_both_backends!(
    sessions_and_bindings_survive_the_upgrade_and_keep_working,
    |backend| async move {
        let database = TestDatabase::new(backend);
        let now = SystemClock.now_micros();
        upgrade_in_use(backend, &database.url, now);

        let store = store_on(&database, backend);
        let ttl = 24 * HOUR;

        let (staff, _) = sessions::refresh(&store, SessionKind::Staff, "rt_before_upgrade", ttl)
            .expect("the staff session opened before the upgrade still refreshes");
        assert!(matches!(staff, Holder::Staff { staff_id: 1 }), "{staff:?}");
        let (member, next) =
            sessions::refresh(&store, SessionKind::Member, "mrt_before_upgrade", ttl)
                .expect("the member session opened before the upgrade still refreshes");
        assert!(
            matches!(member, Holder::Member { member_id: 1, binding } if binding == now - HOUR),
            "{member:?}"
        );
        assert!(next.token.starts_with("mrt_"));
        let spent = sessions::refresh(&store, SessionKind::Staff, "rt_before_upgrade", ttl);
        assert_eq!(spent.err().map(|e| e.code()), Some("refresh_token_reused"));
        let bound = store
            .read(|c| pointsbank::db::access::wechat::member_of(c, "o-wang"))
            .expect("binding read");
        assert_eq!(bound, Some(1));
    }
);
