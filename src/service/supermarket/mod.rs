//! The points supermarket's use-cases: shops and their goods (`catalog`, read in `browse`), the
//! stock log (`stock`), counter sales and orders placed by a clerk for a member (`counter`), a
//! member's own orders (`orders`), the counter's pickups and cancellations (`pickup`) and its
//! lists of orders (`order_lists`). Shared here: which shops a staff member serves, and the shape
//! of an order's lines.

pub mod browse;
pub mod catalog;
pub mod counter;
pub mod order_lists;
pub mod orders;
pub mod pickup;
pub mod stock;

use super::access::Guard;
use crate::db::supermarket::shop::ShopRow;
use crate::db::{self, Db};
use crate::error::{ServiceError, ServiceResult};

/// Lines of one order; a bigger basket is two orders.
pub const MAX_LINES: usize = 20;

/// Items of one goods on one line.
pub const MAX_QUANTITY: i64 = 99;

/// The shop, if the guard allows its action at the shop's unit, with that unit's path (for the
/// audit log). Another village's shop is answered like a missing one.
pub fn shop_in_scope(
    conn: &mut Db,
    guard: &Guard,
    shop_id: i64,
) -> ServiceResult<(ShopRow, String)> {
    let shop = db::supermarket::shop::get_shop(conn, shop_id)?;
    let path = guard.org(conn, shop.org_id)?;
    Ok((shop, path))
}

/// The lines of an order as `(goods id, quantity)`: 1–`MAX_LINES` of them, each quantity
/// 1–`MAX_QUANTITY`, no goods twice.
pub fn checked_lines(lines: &[(i64, i64)]) -> ServiceResult<Vec<(i64, i64)>> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(ServiceError::validation(
            "lines",
            format!("1–{MAX_LINES} lines"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    lines
        .iter()
        .enumerate()
        .map(|(index, &(goods_id, quantity))| {
            if !(1..=MAX_QUANTITY).contains(&quantity) {
                return Err(ServiceError::validation(
                    format!("lines[{index}].quantity"),
                    "must be 1–99",
                ));
            }
            if !seen.insert(goods_id) {
                return Err(ServiceError::validation(
                    format!("lines[{index}].goods_id"),
                    "listed twice",
                ));
            }
            Ok((goods_id, quantity))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_has_one_to_twenty_lines_of_one_to_ninety_nine_items_each_goods_once() {
        assert_eq!(checked_lines(&[]).unwrap_err().field(), Some("lines"));
        let too_many: Vec<(i64, i64)> = (0..=MAX_LINES as i64).map(|id| (id, 1)).collect();
        assert_eq!(checked_lines(&too_many).unwrap_err().field(), Some("lines"));
        assert_eq!(
            checked_lines(&[(7, 1), (9, 0)]).unwrap_err().field(),
            Some("lines[1].quantity")
        );
        assert_eq!(
            checked_lines(&[(7, 100)]).unwrap_err().field(),
            Some("lines[0].quantity")
        );
        assert_eq!(
            checked_lines(&[(7, 1), (9, 2), (7, 3)])
                .unwrap_err()
                .field(),
            Some("lines[2].goods_id")
        );
        assert_eq!(
            checked_lines(&[(7, 99), (9, 1)]).unwrap(),
            vec![(7, 99), (9, 1)]
        );
    }
}
