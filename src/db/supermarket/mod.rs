//! Shops, their goods and stock, and orders.

pub mod goods;
pub mod orders;
pub mod shop;
