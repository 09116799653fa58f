//! The stock log of a shop's goods: stock-in, sponsors' donations, write-offs and corrections.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::supermarket::goods::{Movement, MovementRow};
use crate::domain::access::Action;
use crate::domain::shop::MovementKind;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::supermarket::shop_in_scope;
use crate::service::Store;

/// A movement entered by hand, already checked for shape: a manual kind with a quantity of
/// its sign, a donation with its donor.
#[derive(Debug, Clone)]
pub struct MovementCommand {
    pub goods_id: i64,
    pub kind: MovementKind,
    pub quantity: i64,
    pub donor_name: Option<String>,
    /// The value the donor states, in fen (not points).
    pub donor_value_fen: Option<i64>,
    pub note: String,
}

/// Appends the movement to the goods' stock log and moves the stock with it. The stock never
/// drops below what pending orders set aside: such a write-off or correction writes nothing.
pub fn record_movement(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    command: &MovementCommand,
) -> ServiceResult<MovementRow> {
    let guard = staff.guard(Action::ServeCounter);
    let goods_id = command.goods_id;
    store.write(|conn| {
        let goods = db::supermarket::goods::get_goods(conn, goods_id)?;
        let (_, path) = shop_in_scope(conn, &guard, goods.shop_id)?;
        let movement = Movement {
            goods: &goods,
            kind: command.kind,
            quantity: command.quantity,
            donor_name: command.donor_name.as_deref(),
            donor_value_fen: command.donor_value_fen,
            note: &command.note,
            order_id: None,
            actor: staff.actor(),
        };
        let row = db::supermarket::goods::record_movement(conn, movement, store.now())?;
        audit::created(
            conn,
            audit,
            "stock.move",
            format!("goods:{goods_id}"),
            &path,
            &row,
        )?;
        Ok(row)
    })
}

/// Movements one stock log lists; the API promises this many, newest first.
const MAX_MOVEMENTS: i64 = 500;

/// The shop's stock log, newest first, optionally of one goods or one kind.
pub fn list_movements(
    store: &Store,
    staff: &Staff,
    shop_id: i64,
    goods_id: Option<i64>,
    kind: Option<MovementKind>,
) -> ServiceResult<Vec<MovementRow>> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        shop_in_scope(conn, &guard, shop_id)?;
        db::supermarket::goods::list_movements(conn, shop_id, goods_id, kind, MAX_MOVEMENTS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::supermarket::orders::NewOrder;
    use crate::domain::access::Role;
    use crate::service::testing::Village;

    fn moving(goods_id: i64, kind: MovementKind, quantity: i64) -> MovementCommand {
        MovementCommand {
            goods_id,
            kind,
            quantity,
            donor_name: None,
            donor_value_fen: None,
            note: String::new(),
        }
    }

    fn record(
        village: &Village,
        staff: &Staff,
        command: &MovementCommand,
    ) -> ServiceResult<MovementRow> {
        record_movement(&village.store, staff, &village.audit(staff), command)
    }

    #[test]
    fn a_donation_raises_the_stock_and_is_logged_with_its_donor() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let rice = village.goods(&shop, "大米 5kg", 40, 3);
        let donation = MovementCommand {
            donor_name: Some("青山农业合作社".into()),
            donor_value_fen: Some(60_000),
            note: "爱心企业捐赠".into(),
            ..moving(rice, MovementKind::Donation, 20)
        };

        let logged = record(&village, &village.staff(2, Role::Clerk), &donation).unwrap();

        assert_eq!(logged.kind, MovementKind::Donation.as_str());
        assert_eq!(logged.donor_name.as_deref(), Some("青山农业合作社"));
        assert_eq!(logged.actor, "staff:2");
        assert_eq!(village.stock(rice), (23, 0));
        assert_eq!(village.audit_log("stock.move").len(), 1);
    }

    #[test]
    fn a_write_off_of_goods_set_aside_for_orders_is_refused_and_logs_nothing() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let member = village.member("王秀英");
        village.earn(member, 100);
        let now = village.store.now();
        village
            .store
            .write(|c| {
                let order = NewOrder {
                    shop: &shop,
                    member_id: member,
                    lines: &[(soap, 4)],
                    placed_by: "staff:2",
                    on_behalf: true,
                    cash_points: 0,
                    cash_fen: 0,
                    utc_offset_seconds: 0,
                };
                db::supermarket::orders::place(c, order, now)
            })
            .unwrap();
        let clerk = village.staff(2, Role::Clerk);

        let refused = record(&village, &clerk, &moving(soap, MovementKind::WriteOff, -2));
        record(&village, &clerk, &moving(soap, MovementKind::WriteOff, -1)).unwrap();

        assert_eq!(refused.unwrap_err().code(), "out_of_stock");
        assert_eq!(village.stock(soap), (4, 4));
        assert_eq!(village.audit_log("stock.move").len(), 1);
    }

    #[test]
    fn stock_moves_only_in_the_shops_you_serve() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let stock_in = moving(soap, MovementKind::StockIn, 10);

        let elsewhere = record(&village, &village.neighbouring_clerk(3), &stock_in);
        let auditor = record(&village, &village.staff(4, Role::Auditor), &stock_in);
        let missing = record(
            &village,
            &village.staff(2, Role::Clerk),
            &moving(soap + 99, MovementKind::StockIn, 1),
        );

        assert_eq!(elsewhere.unwrap_err().code(), "not_found");
        assert_eq!(auditor.unwrap_err().code(), "forbidden");
        assert_eq!(missing.unwrap_err().code(), "not_found");
        assert_eq!(village.stock(soap), (5, 0));
    }
}
