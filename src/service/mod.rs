//! The use-cases, one function each, called alike by the HTTP API, the staff console and the
//! background workers: authorise → idempotency → effect → audit, in one transaction. Nothing
//! here knows about HTTP.

pub mod sealing;
pub mod store;

pub use store::Store;
