//! The pure core, by feature: amounts, entries, holds and the seal chain (ledger), roles and
//! scopes (access), cards (members), rules, activities and check-in, the supermarket.
//! Nothing here knows about HTTP or SQL; everything here is deterministic.

pub mod access;
pub mod activities;
pub mod ledger;
pub mod members;
pub mod notifications;
pub mod rules;
pub mod shop;
pub mod text;
