//! The service's `Store` opened straight on a test database, for the tests of what lies below
//! HTTP (migrations over data, the outbox's leases).

use std::sync::Arc;
use std::time::Duration;

use pointsbank::clock::{SharedClock, ShiftedClock, SystemClock};
use pointsbank::db::{connection, Backend as DbBackend, DbTarget};
use pointsbank::service::Store;

use crate::helpers::{Backend, TestDatabase};

pub fn store_on(database: &TestDatabase, backend: Backend) -> Store {
    store_with_clock(database, backend, Arc::new(SystemClock))
}

pub fn store_with_clock(database: &TestDatabase, backend: Backend, clock: SharedClock) -> Store {
    let target = DbTarget::parse(&database.url);
    let pool = connection::build_pool(&target, 4, Duration::from_secs(5)).expect("pool");
    let backend = match backend {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::Postgres => DbBackend::Postgres,
    };
    Store::new(pool, backend, clock)
}

/// A fresh database of `backend`, migrated, with a store on it.
pub fn migrated_store(backend: Backend) -> (TestDatabase, Store) {
    let (database, store, _) = migrated_store_with(backend, Arc::new(SystemClock));
    (database, store)
}

/// As `migrated_store`, on a clock the test moves.
pub fn migrated_store_on_shifted_clock(
    backend: Backend,
) -> (TestDatabase, Store, Arc<ShiftedClock>) {
    let clock = ShiftedClock::new();
    let (database, store, _) = migrated_store_with(backend, clock.clone());
    (database, store, clock)
}

fn migrated_store_with(backend: Backend, clock: SharedClock) -> (TestDatabase, Store, SharedClock) {
    let database = TestDatabase::new(backend);
    let store = store_with_clock(&database, backend, clock.clone());
    let mut conn = store.pool().get().expect("connection");
    connection::run_migrations(&mut conn).expect("migrations");
    drop(conn);
    (database, store, clock)
}
