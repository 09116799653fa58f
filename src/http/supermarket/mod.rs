//! The points supermarket: shops, goods, stock, the counter and orders.

pub mod counter;
pub mod goods;
pub mod orders;
pub mod shops;
pub mod stock;
