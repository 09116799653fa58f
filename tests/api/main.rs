//! The API test suite: one binary, a module per capability. Every test runs against SQLite and,
//! when `PB_TEST_POSTGRES_URL` is set, against PostgreSQL too — each in its own fresh database.

mod helpers;

mod access;
mod access_lists;
mod access_matrix;
mod access_world;
mod activities;
mod audit;
mod card_sheet;
mod checkin;
mod cli;
mod concurrency;
mod contract;
mod errors;
mod holds;
mod idempotency;
mod ledger;
mod logs;
mod mail;
mod member_sessions;
mod members;
mod model;
mod outage;
mod outbox;
mod reads;
mod restart;
mod restart_settlement;
mod rules;
mod schema;
mod scopes;
mod self_service;
mod sessions;
mod shop_restart;
mod shops;
mod smtp;
mod store;
mod supermarket;
mod tamper;
mod upgrade;
mod wechat;
mod wechat_unbind;

/// `.ci/run` sets PB_REQUIRE_POSTGRES=1: then a missing PostgreSQL must fail the run, not skip it.
#[test]
fn postgres_is_tested_when_ci_requires_it() {
    if std::env::var("PB_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        assert!(
            helpers::postgres_available(),
            "PB_TEST_POSTGRES_URL must be set in CI"
        );
        let built_with_postgres = cfg!(pb_postgres);
        assert!(
            built_with_postgres,
            "the tests were built without PB_TEST_POSTGRES_URL: their PostgreSQL twins are ignored"
        );
    }
}

/// `.ci/run` sets PB_REQUIRE_SMTP=1: then the mail tests must run against the real SMTP server.
#[test]
fn mail_is_tested_when_ci_requires_it() {
    if std::env::var("PB_REQUIRE_SMTP").as_deref() == Ok("1") {
        let built_with_smtp = cfg!(pb_smtp);
        assert!(
            built_with_smtp,
            "the tests were built without PB_TEST_SMTP_PYTHON: the mail tests are ignored"
        );
    }
}
