//! The pure core: amounts, ledger rules, holds and the seal chain.
//! Nothing here knows about HTTP or SQL; everything here is deterministic.

pub mod access;
pub mod activities;
pub mod ledger;
pub mod members;
pub mod rules;
pub mod shop;
