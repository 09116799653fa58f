//! The hash chain over the journal.

pub mod sealing;
