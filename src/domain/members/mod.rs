//! Member cards: numbers, check digits and printable card sheets.

pub mod card;
pub mod card_sheet;
