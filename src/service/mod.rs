//! The use-cases, one function each, called alike by the HTTP API, the staff console and the
//! background workers: authorise → idempotency → effect → audit, in one transaction. Nothing
//! here knows about HTTP.

pub mod access;
pub mod activities;
pub mod ledger;
pub mod members;
pub mod rules;
pub mod store;
pub mod supermarket;
#[cfg(test)]
pub mod testing;

pub use store::Store;

/// The idempotency of one request: the client's key (if it sent one) and the fingerprint of
/// what it asked, so that a retry replays the first result and a different request under the
/// same key is refused.
#[derive(Debug, Clone, Default)]
pub struct Idempotency {
    pub key: Option<String>,
    pub fingerprint: String,
}
