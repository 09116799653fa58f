//! Everything that speaks SQL. Each function takes a connection; write paths run inside
//! `connection::write_tx`, so one request is one transaction.

pub mod access;
pub mod activities;
pub mod connection;
pub mod idempotency;
pub mod ledger;
pub mod members;
pub mod notifications;
pub mod rules;
pub mod schema;
pub mod supermarket;

pub use connection::{lock_row, snapshot_tx, write_tx, Backend, Db, DbTarget, Pool};

/// Turns a stored enum text back into its domain value. The columns carry CHECK constraints,
/// so a failure here means the database was edited by hand.
pub(crate) fn stored<T>(
    parsed: Option<T>,
    column: &str,
    text: &str,
) -> Result<T, crate::error::ServiceError> {
    parsed.ok_or_else(|| {
        crate::error::ServiceError::Internal(anyhow::anyhow!(
            "unexpected value {text:?} in column {column}"
        ))
    })
}

/// `SUM(column)` as a BIGINT (0 when there are no rows). diesel types SUM(BIGINT) as NUMERIC,
/// which the two-backend connection cannot read; the cast keeps it an exact integer.
pub(crate) fn sum_bigint(
    column: &'static str,
) -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
        "CAST(COALESCE(SUM({column}), 0) AS BIGINT)"
    ))
}
