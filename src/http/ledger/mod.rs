//! Banks, accounts, journal entries, holds and the verifier.

pub mod accounts;
pub mod banks;
pub mod entries;
pub mod holds;
pub mod verify;
