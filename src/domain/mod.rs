//! The pure core: amounts, ledger rules, holds and the seal chain.
//! Nothing here knows about HTTP or SQL; everything here is deterministic.

pub mod access;
pub mod card;
pub mod card_sheet;
pub mod hold;
pub mod identity;
pub mod ledger;
pub mod money;
pub mod privacy;
pub mod seal;
pub mod verify;
