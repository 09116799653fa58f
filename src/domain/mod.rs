//! The pure core: amounts, ledger rules, holds and the seal chain.
//! Nothing here knows about HTTP or SQL; everything here is deterministic.

pub mod access;
pub mod activity;
pub mod activity_plan;
pub mod card;
pub mod card_sheet;
pub mod checkin;
pub mod checkin_token;
pub mod hold;
pub mod identity;
pub mod ledger;
pub mod money;
pub mod privacy;
pub mod rules;
pub mod seal;
pub mod shop;
pub mod signed_token;
pub mod verify;
