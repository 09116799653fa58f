//! The service's `Store` opened straight on a test database, for the tests of what lies below
//! HTTP (migrations over data, the outbox's leases).

use std::sync::Arc;
use std::time::Duration;

use pointsbank::clock::SystemClock;
use pointsbank::db::{connection, Backend as DbBackend, DbTarget};
use pointsbank::service::Store;

use crate::helpers::{Backend, TestDatabase};

pub fn store_on(database: &TestDatabase, backend: Backend) -> Store {
    let target = DbTarget::parse(&database.url);
    let pool = connection::build_pool(&target, 4, Duration::from_secs(5)).expect("pool");
    let backend = match backend {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::Postgres => DbBackend::Postgres,
    };
    Store::new(pool, backend, Arc::new(SystemClock))
}

/// A fresh database of `backend`, migrated, with a store on it.
pub fn migrated_store(backend: Backend) -> (TestDatabase, Store) {
    let database = TestDatabase::new(backend);
    let store = store_on(&database, backend);
    let mut conn = store.pool().get().expect("connection");
    connection::run_migrations(&mut conn).expect("migrations");
    drop(conn);
    (database, store)
}
