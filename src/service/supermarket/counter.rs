//! The counter takes an order for a member who presents their card: a pending order for later
//! pickup, or a counter sale handed over at once; part of it may be paid in cash where the shop
//! allows it. Recorded as placed by the clerk on behalf of the member.

use super::shop_in_scope;
use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::idempotency::{self, KeyScope, Outcome};
use crate::db::supermarket::orders::{NewOrder, OrderRecord};
use crate::domain::access::Action;
use crate::domain::members::card::PresentedCard;
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::{Idempotency, Store};

/// Part of an order's total paid in cash instead of points: recorded on the order and the day
/// list, never in the points ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashTopup {
    /// Points of the total that the cash replaces (minor units).
    points: i64,
    /// Cash taken, in fen.
    cash_fen: i64,
}

impl CashTopup {
    /// Neither part may be negative. Whether the shop takes cash at all, and whether the points
    /// exceed the order's total, is decided when the order is placed.
    pub fn parse(points: i64, cash_fen: i64) -> ServiceResult<CashTopup> {
        if points < 0 || cash_fen < 0 {
            return Err(ServiceError::validation(
                "cash_topup",
                "must not be negative",
            ));
        }
        Ok(CashTopup { points, cash_fen })
    }
}

/// What the clerk asked for, already checked for shape (see `checked_lines`, `CashTopup::parse`).
#[derive(Debug, Clone)]
pub struct CounterOrderCommand {
    pub shop_id: i64,
    /// The member's card as scanned or typed.
    pub card: PresentedCard,
    /// `(goods id, quantity)`, each goods once.
    pub lines: Vec<(i64, i64)>,
    pub cash_topup: Option<CashTopup>,
    /// Hand the goods over at once (a counter sale) instead of leaving a pending order.
    pub fulfil_now: bool,
}

/// Places an order for the card holder in one transaction: stock reserved and points held (or,
/// with `fulfil_now`, captured into a `redeem` entry and the goods taken off the shelf). If any
/// line cannot be had, or the points do not suffice, nothing is written. A retry with the same
/// idempotency key replays the first order.
pub fn counter_order(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    idempotency: &Idempotency,
    command: &CounterOrderCommand,
    utc_offset_seconds: i64,
) -> ServiceResult<(OrderRecord, Outcome)> {
    let guard = staff.guard(Action::ServeCounter);
    let actor = staff.actor();
    let member_id = command.card.member_id;
    let (cash_points, cash_fen) = command
        .cash_topup
        .map_or((0, 0), |topup| (topup.points, topup.cash_fen));
    store.write(|conn| {
        let now = store.now();
        let (shop, path) = shop_in_scope(conn, &guard, command.shop_id)?;
        let (member, _) = db::members::get_member(conn, member_id)?;
        command.card.check_current(member.card_version)?;
        idempotency::once(
            conn,
            KeyScope::new(shop.bank_id, actor),
            idempotency.key.as_deref(),
            &idempotency.fingerprint,
            now,
            |conn| {
                // Checked for a new order only: a retry replays what was taken, even if the shop
                // has stopped taking cash since.
                if cash_points > 0 && !shop.allows_cash_topup {
                    return Err(ServiceError::validation(
                        "cash_topup",
                        "this shop does not take cash top-ups",
                    ));
                }
                let new = NewOrder {
                    shop: &shop,
                    member_id,
                    lines: &command.lines,
                    placed_by: actor,
                    on_behalf: true,
                    cash_points,
                    cash_fen,
                    utc_offset_seconds,
                };
                let mut record = db::supermarket::orders::place(conn, new, now)?;
                if command.fulfil_now {
                    record = db::supermarket::orders::fulfil(conn, record.order.id, actor, now)?;
                }
                audit::created(
                    conn,
                    audit,
                    "order.on_behalf",
                    format!("order:{}", record.order.id),
                    &path,
                    &record,
                )?;
                Ok(record)
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::domain::members::card::{card_number, sign_card, CardClaim};
    use crate::domain::shop::OrderStatus;
    use crate::service::testing::{points, Village};

    const SECRET: &[u8] = b"card-secret-card-secret-card-secret!";

    /// A shop with five packs of soap at 20 points, and a member who earned `earned` points.
    fn counter(earned: i64) -> (Village, i64, i64, i64) {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let member = village.member("王秀英");
        village.earn(member, earned);
        (village, shop.id, soap, member)
    }

    /// A counter sale of `lines` to the holder of the typed card number.
    fn sale(shop_id: i64, member_id: i64, lines: &[(i64, i64)]) -> CounterOrderCommand {
        CounterOrderCommand {
            shop_id,
            card: PresentedCard::read(SECRET, &card_number(member_id)).unwrap(),
            lines: lines.to_vec(),
            cash_topup: None,
            fulfil_now: true,
        }
    }

    fn sell(
        village: &Village,
        staff: &Staff,
        command: &CounterOrderCommand,
        key: Option<&str>,
    ) -> ServiceResult<(OrderRecord, Outcome)> {
        let idempotency = Idempotency {
            key: key.map(str::to_string),
            fingerprint: format!("{command:?}"),
        };
        let audit = village.audit(staff);
        counter_order(&village.store, staff, &audit, &idempotency, command, 0)
    }

    #[test]
    fn a_counter_sale_debits_the_card_holder_and_takes_the_stock() {
        let (village, shop, soap, member) = counter(50);
        let clerk = village.staff(2, Role::Clerk);

        let (sold, outcome) =
            sell(&village, &clerk, &sale(shop, member, &[(soap, 2)]), None).unwrap();

        assert_eq!(outcome, Outcome::Fresh);
        assert_eq!(sold.order.status, OrderStatus::Fulfilled.as_str());
        assert_eq!(sold.order.total_points, points(40));
        assert!(sold.order.on_behalf);
        assert_eq!(sold.order.placed_by, "staff:2");
        assert!(sold.order.entry_id.is_some());
        assert_eq!(village.balance(member, "POINTS"), points(10));
        assert_eq!(village.held(member), 0);
        assert_eq!(village.stock(soap), (3, 0));
    }

    #[test]
    fn a_counter_order_for_later_pickup_holds_the_points_and_sets_the_goods_aside() {
        let (village, shop, soap, member) = counter(50);
        let command = CounterOrderCommand {
            fulfil_now: false,
            ..sale(shop, member, &[(soap, 2)])
        };

        let (order, _) = sell(&village, &village.staff(2, Role::Clerk), &command, None).unwrap();

        assert_eq!(order.order.status, OrderStatus::Pending.as_str());
        assert_eq!(order.order.entry_id, None);
        assert_eq!(village.balance(member, "POINTS"), points(50));
        assert_eq!(village.held(member), points(40));
        assert_eq!(village.stock(soap), (5, 2));
    }

    #[test]
    fn a_sale_larger_than_the_balance_takes_nothing() {
        let (village, shop, soap, member) = counter(30);
        let clerk = village.staff(2, Role::Clerk);

        let refused = sell(&village, &clerk, &sale(shop, member, &[(soap, 2)]), None).unwrap_err();
        let beyond_the_shelf = sell(&village, &clerk, &sale(shop, member, &[(soap, 6)]), None);

        assert_eq!(refused.code(), "insufficient_points");
        assert_eq!(beyond_the_shelf.unwrap_err().code(), "out_of_stock");
        assert_eq!(village.balance(member, "POINTS"), points(30));
        assert_eq!(village.held(member), 0);
        assert_eq!(village.stock(soap), (5, 0));
    }

    #[test]
    fn a_retry_under_the_same_key_replays_the_sale() {
        let (village, shop, soap, member) = counter(50);
        let clerk = village.staff(2, Role::Clerk);
        let command = sale(shop, member, &[(soap, 1)]);

        let (first, _) = sell(&village, &clerk, &command, Some("k-1")).unwrap();
        let (again, outcome) = sell(&village, &clerk, &command, Some("k-1")).unwrap();

        assert_eq!(outcome, Outcome::Replayed);
        assert_eq!(again.order.id, first.order.id);
        assert_eq!(again.order.entry_id, first.order.entry_id);
        assert_eq!(village.balance(member, "POINTS"), points(30));
        assert_eq!(village.stock(soap), (4, 0));
        let other = sale(shop, member, &[(soap, 2)]);
        let reused = sell(&village, &clerk, &other, Some("k-1")).unwrap_err();
        assert_eq!(reused.code(), "idempotency_conflict");
        assert_eq!(village.stock(soap), (4, 0));
    }

    #[test]
    fn a_clerk_of_another_shop_cannot_sell() {
        let (village, shop, soap, member) = counter(50);
        let command = sale(shop, member, &[(soap, 1)]);

        let elsewhere = sell(&village, &village.neighbouring_clerk(3), &command, None);
        let auditor = sell(&village, &village.staff(4, Role::Auditor), &command, None);

        assert_eq!(elsewhere.unwrap_err().code(), "not_found");
        assert_eq!(auditor.unwrap_err().code(), "forbidden");
        assert_eq!(village.balance(member, "POINTS"), points(50));
        assert_eq!(village.stock(soap), (5, 0));
    }

    #[test]
    fn cash_pays_part_of_a_sale_only_where_the_shop_takes_it_and_never_more_than_the_total() {
        let (village, cashless, soap_here, member) = counter(10);
        let till = village.shop(true, 72);
        let soap_there = village.goods(&till, "洗衣液 2kg", 20, 5);
        let clerk = village.staff(2, Role::Clerk);
        let paying = |points, fen, command| CounterOrderCommand {
            cash_topup: Some(CashTopup::parse(points, fen).unwrap()),
            ..command
        };

        let refused = sell(
            &village,
            &clerk,
            &paying(points(15), 1500, sale(cashless, member, &[(soap_here, 1)])),
            None,
        );
        let too_much = sell(
            &village,
            &clerk,
            &paying(points(21), 2100, sale(till.id, member, &[(soap_there, 1)])),
            None,
        );
        let (sold, _) = sell(
            &village,
            &clerk,
            &paying(points(15), 1500, sale(till.id, member, &[(soap_there, 1)])),
            None,
        )
        .unwrap();

        assert_eq!(refused.unwrap_err().field(), Some("cash_topup"));
        assert_eq!(too_much.unwrap_err().field(), Some("cash_topup.points"));
        assert_eq!(village.stock(soap_here), (5, 0));
        assert_eq!(
            (sold.order.cash_points, sold.order.cash_fen),
            (points(15), 1500)
        );
        assert_eq!(village.balance(member, "POINTS"), points(5));
        assert_eq!(village.stock(soap_there), (4, 0));
        assert_eq!(
            CashTopup::parse(-1, 0).unwrap_err().field(),
            Some("cash_topup")
        );
        assert_eq!(
            CashTopup::parse(0, -1).unwrap_err().field(),
            Some("cash_topup")
        );
    }

    #[test]
    fn the_scanned_code_of_a_replaced_card_buys_nothing() {
        let (village, shop, soap, member) = counter(50);
        let old_code = sign_card(
            SECRET,
            CardClaim {
                member_id: member,
                version: 1,
            },
        );
        village
            .store
            .write(|c| db::members::reissue_card(c, member))
            .unwrap();
        let command = CounterOrderCommand {
            card: PresentedCard::read(SECRET, &old_code).unwrap(),
            ..sale(shop, member, &[(soap, 1)])
        };

        let refused = sell(&village, &village.staff(2, Role::Clerk), &command, None);

        assert_eq!(refused.unwrap_err().code(), "card_revoked");
        assert_eq!(village.balance(member, "POINTS"), points(50));
        assert_eq!(village.stock(soap), (5, 0));
    }
}
