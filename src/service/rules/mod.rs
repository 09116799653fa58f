//! Points by rule: staff awards and member claims.

pub mod awards;
pub mod catalog;
pub mod claim_lists;
pub mod claims;
