//! The counter hands over a pending order when the member shows its pickup QR (or reads out its
//! code), or cancels it for them.

use serde::{Deserialize, Serialize};

use super::shop_in_scope;
use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::ledger::EntryRecord;
use crate::db::supermarket::orders::OrderRecord;
use crate::domain::access::Action;
use crate::domain::shop::{verify_pickup, OrderStatus};
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::Store;

/// How the member proves which order is theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickupProof {
    /// A genuine pickup QR, naming its order.
    Token(i64),
    /// The six digits of a pending order of the shop.
    Code(String),
}

impl PickupProof {
    /// A scanned pickup QR signed with `secret`, or six digits; anything else is refused.
    pub fn read(secret: &[u8], text: &str) -> ServiceResult<PickupProof> {
        if let Some(order_id) = verify_pickup(secret, text) {
            return Ok(PickupProof::Token(order_id));
        }
        if text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(PickupProof::Code(text.to_string()));
        }
        Err(ServiceError::PickupTokenInvalid)
    }
}

/// A fulfilled order and the `redeem` entry its points became (none when it was paid in cash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Handover {
    pub order: OrderRecord,
    pub entry: Option<EntryRecord>,
}

/// Hands over the order: its held points become a `redeem` entry and the goods leave the stock,
/// in one step, exactly once. A proof for another shop's order is as invalid as a forged one.
pub fn fulfil_pickup(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    shop_id: i64,
    proof: &PickupProof,
) -> ServiceResult<Handover> {
    let guard = staff.guard(Action::ServeCounter);
    let actor = staff.actor();
    store.write(|conn| {
        let (_, path) = shop_in_scope(conn, &guard, shop_id)?;
        let order_id = match proof {
            PickupProof::Token(order_id) => *order_id,
            PickupProof::Code(code) => db::supermarket::orders::find_by_code(conn, shop_id, code)?,
        };
        // A signed token for an order that does not exist is as invalid as a forged one; a
        // database failure is not, and must not tell the clerk the member's QR code is bad.
        let existing = db::supermarket::orders::get_order(conn, order_id)
            .map_err(|err| err.when_not_found(|| ServiceError::PickupTokenInvalid))?;
        if existing.order.shop_id != shop_id {
            return Err(ServiceError::PickupTokenInvalid);
        }
        let order = db::supermarket::orders::fulfil(conn, order_id, actor, store.now())?;
        let entry = match order.order.entry_id {
            Some(entry_id) => Some(db::ledger::get_entry(conn, order.order.bank_id, entry_id)?),
            None => None,
        };
        audit::created(
            conn,
            audit,
            "order.fulfil",
            format!("order:{order_id}"),
            &path,
            &order,
        )?;
        Ok(Handover { order, entry })
    })
}

/// Cancels a pending order of the shop for the member: the held points are released and the
/// reserved stock returns to the shelf. A fulfilled or expired order stays as it is.
pub fn cancel_order(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    shop_id: i64,
    order_id: i64,
) -> ServiceResult<OrderRecord> {
    let guard = staff.guard(Action::ServeCounter);
    let actor = staff.actor();
    store.write(|conn| {
        let (_, path) = shop_in_scope(conn, &guard, shop_id)?;
        if db::supermarket::orders::get_order(conn, order_id)?
            .order
            .shop_id
            != shop_id
        {
            return Err(ServiceError::NotFound("order"));
        }
        let record = db::supermarket::orders::cancel(
            conn,
            order_id,
            OrderStatus::Cancelled,
            actor,
            store.now(),
        )?;
        audit::created(
            conn,
            audit,
            "order.cancel",
            format!("order:{order_id}"),
            &path,
            &record.order,
        )?;
        Ok(record)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::db::supermarket::shop::ShopRow;
    use crate::domain::access::Role;
    use crate::domain::members::card::{card_number, PresentedCard};
    use crate::domain::shop::sign_pickup;
    use crate::service::supermarket::counter::{counter_order, CounterOrderCommand};
    use crate::service::testing::{points, Village};
    use crate::service::Idempotency;

    const SECRET: &[u8] = b"card-secret-card-secret-card-secret!";

    /// A pending order of two items at 20 points for a member who earned 50.
    fn pending_order(village: &Village, shop: &ShopRow, goods_id: i64) -> (i64, OrderRecord) {
        let member = village.member("王秀英");
        village.earn(member, 50);
        let clerk = village.staff(2, Role::Clerk);
        let command = CounterOrderCommand {
            shop_id: shop.id,
            card: PresentedCard::read(SECRET, &card_number(member)).unwrap(),
            lines: vec![(goods_id, 2)],
            cash_topup: None,
            fulfil_now: false,
        };
        let (order, _) = counter_order(
            &village.store,
            &clerk,
            &village.audit(&clerk),
            &Idempotency::default(),
            &command,
            0,
        )
        .unwrap();
        (member, order)
    }

    fn pick_up(village: &Village, shop_id: i64, proof: &PickupProof) -> ServiceResult<Handover> {
        let clerk = village.staff(2, Role::Clerk);
        fulfil_pickup(
            &village.store,
            &clerk,
            &village.audit(&clerk),
            shop_id,
            proof,
        )
    }

    fn cancel(
        village: &Village,
        staff: &Staff,
        shop_id: i64,
        order_id: i64,
    ) -> ServiceResult<OrderRecord> {
        cancel_order(
            &village.store,
            staff,
            &village.audit(staff),
            shop_id,
            order_id,
        )
    }

    #[test]
    fn a_pickup_captures_the_hold_once() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let (member, order) = pending_order(&village, &shop, soap);
        let proof = PickupProof::Token(order.order.id);

        let handover = pick_up(&village, shop.id, &proof).unwrap();
        let again = pick_up(&village, shop.id, &proof).unwrap_err();

        assert_eq!(handover.order.order.status, OrderStatus::Fulfilled.as_str());
        assert_eq!(handover.order.order.closed_by.as_deref(), Some("staff:2"));
        let entry = handover.entry.expect("a redeem entry");
        assert_eq!(Some(entry.entry.id), handover.order.order.entry_id);
        assert_eq!(again.code(), "order_not_pending");
        assert_eq!(village.balance(member, "POINTS"), points(10));
        assert_eq!(village.held(member), 0);
        assert_eq!(village.stock(soap), (3, 0));
    }

    #[test]
    fn a_pickup_code_hands_over_the_shops_pending_order_with_that_code() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let (member, order) = pending_order(&village, &shop, soap);
        let code = PickupProof::Code(order.order.pickup_code.clone());
        let wrong = PickupProof::Code(format!(
            "{:06}",
            (order.order.pickup_code.parse::<u32>().unwrap() + 1) % 1_000_000
        ));

        let refused = pick_up(&village, shop.id, &wrong).unwrap_err();
        let handover = pick_up(&village, shop.id, &code).unwrap();

        assert_eq!(refused.code(), "pickup_token_invalid");
        assert_eq!(handover.order.order.id, order.order.id);
        assert_eq!(village.balance(member, "POINTS"), points(10));
    }

    #[test]
    fn an_expired_order_cannot_be_picked_up() {
        let village = Village::fresh();
        let shop = village.shop(false, 2);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let (member, order) = pending_order(&village, &shop, soap);

        village.clock.advance(Duration::from_secs(2 * 3600 + 1));
        let refused = pick_up(&village, shop.id, &PickupProof::Token(order.order.id)).unwrap_err();

        assert_eq!(refused.code(), "order_not_pending");
        assert!(refused.to_string().contains("expired"), "{refused}");
        assert_eq!(village.balance(member, "POINTS"), points(50));
        assert_eq!(village.stock(soap), (5, 2));
    }

    #[test]
    fn another_shops_order_is_no_pickup_here() {
        let village = Village::fresh();
        let (shop, other) = (village.shop(false, 72), village.shop(false, 72));
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let (member, order) = pending_order(&village, &shop, soap);

        let refused = pick_up(&village, other.id, &PickupProof::Token(order.order.id));
        let missing = pick_up(
            &village,
            shop.id,
            &PickupProof::Token(order.order.id + 1000),
        );

        assert_eq!(refused.unwrap_err().code(), "pickup_token_invalid");
        assert_eq!(missing.unwrap_err().code(), "pickup_token_invalid");
        assert_eq!(village.held(member), points(40));
        assert_eq!(village.stock(soap), (5, 2));
    }

    #[test]
    fn a_pickup_is_a_signed_token_or_six_digits() {
        let token = sign_pickup(SECRET, 31);
        assert_eq!(
            PickupProof::read(SECRET, &token).unwrap(),
            PickupProof::Token(31)
        );
        assert_eq!(
            PickupProof::read(SECRET, "042917").unwrap(),
            PickupProof::Code("042917".into())
        );
        for forged in [
            sign_pickup(b"another-secret-another-secret-12", 31),
            "04291".into(),
            "0429170".into(),
            "04291a".into(),
        ] {
            assert_eq!(
                PickupProof::read(SECRET, &forged).unwrap_err().code(),
                "pickup_token_invalid",
                "{forged}"
            );
        }
    }

    #[test]
    fn a_counter_cancel_gives_back_the_points_and_the_goods_once() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let (member, order) = pending_order(&village, &shop, soap);
        let clerk = village.staff(2, Role::Clerk);

        let cancelled = cancel(&village, &clerk, shop.id, order.order.id).unwrap();
        let again = cancel(&village, &clerk, shop.id, order.order.id).unwrap_err();

        assert_eq!(cancelled.order.status, OrderStatus::Cancelled.as_str());
        assert_eq!(again.code(), "order_not_pending");
        assert_eq!(village.held(member), 0);
        assert_eq!(village.balance(member, "POINTS"), points(50));
        assert_eq!(village.stock(soap), (5, 0));
        let picked = pick_up(&village, shop.id, &PickupProof::Token(order.order.id));
        assert_eq!(picked.unwrap_err().code(), "order_not_pending");
    }

    #[test]
    fn only_a_clerk_of_the_shop_cancels_its_orders() {
        let village = Village::fresh();
        let (shop, other) = (village.shop(false, 72), village.shop(false, 72));
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let (member, order) = pending_order(&village, &shop, soap);
        let id = order.order.id;

        let wrong_shop = cancel(&village, &village.staff(2, Role::Clerk), other.id, id);
        let elsewhere = cancel(&village, &village.neighbouring_clerk(3), shop.id, id);
        let auditor = cancel(&village, &village.staff(4, Role::Auditor), shop.id, id);

        assert_eq!(wrong_shop.unwrap_err().code(), "not_found");
        assert_eq!(elsewhere.unwrap_err().code(), "not_found");
        assert_eq!(auditor.unwrap_err().code(), "forbidden");
        assert_eq!(village.held(member), points(40));
        assert_eq!(village.stock(soap), (5, 2));
    }
}
