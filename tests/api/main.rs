//! The API test suite: one binary, a module per capability. Every test runs against SQLite and,
//! when `PB_TEST_POSTGRES_URL` is set, against PostgreSQL too — each in its own fresh database.

mod helpers;

mod concurrency;
mod contract;
mod errors;
mod holds;
mod idempotency;
mod ledger;
mod model;
mod restart;
