//! Merging a duplicate member: when one person was registered twice, every balance of the
//! duplicate moves to the survivor by `transfer` entries, the WeChat binding follows if the
//! survivor has none, and the duplicate is marked `left` with its history kept.

use serde::Serialize;

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::members::{detail, MemberDetail, MemberRecord};
use crate::service::Store;

#[derive(Debug, Clone, Serialize)]
pub struct Merged {
    /// The duplicate, now `left` and pointing at the survivor.
    pub merged: MemberRecord,
    pub into: MemberDetail,
    /// The `transfer` entries that moved the balances.
    pub entry_ids: Vec<i64>,
}

/// Needs the right to post entries over both members; refused while the duplicate has pending
/// holds, or when the two keep points in different banks.
pub fn merge_members(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    member_id: i64,
    into_member_id: i64,
) -> ServiceResult<Merged> {
    let guard = staff.guard(Action::PostEntries);
    store.write(|conn| {
        let (source, source_path) = db::members::get_member(conn, member_id)?;
        let (target, target_path) = db::members::get_member(conn, into_member_id)?;
        guard.at(&source_path)?;
        guard.at(&target_path)?;
        let before = serde_json::json!({
            "merged": MemberRecord::from(source.clone()),
            "into": MemberRecord::from(target.clone()),
        });
        let entry_ids = db::members::merge(conn, &source, &target, staff.actor(), store.now())?;
        let merged = MemberRecord::from(db::members::get_member(conn, member_id)?.0);
        let survivor = db::members::get_member(conn, into_member_id)?.0;
        let result = Merged {
            merged,
            into: detail(conn, survivor)?,
            entry_ids,
        };
        let target = format!("member:{member_id}");
        audit::changed(
            conn,
            audit,
            "member.merge",
            target,
            &source_path,
            &before,
            &result,
        )?;
        Ok(result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::service::supermarket::orders::{place_my_order, PlaceOrderCommand};
    use crate::service::testing::{points, Village};
    use crate::service::Idempotency;

    #[test]
    fn the_duplicates_points_move_to_the_survivor_by_one_transfer() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let (duplicate, survivor) = (village.member("王秀英"), village.member("王秀英"));
        village.earn(duplicate, 12);
        village.earn(survivor, 3);
        let merged = merge_members(
            &village.store,
            &admin,
            &village.audit(&admin),
            duplicate,
            survivor,
        )
        .expect("merged");
        assert_eq!(merged.merged.merged_into, Some(survivor));
        assert_eq!(merged.entry_ids.len(), 1);
        assert_eq!(village.balance(duplicate, "POINTS"), 0);
        assert_eq!(village.balance(survivor, "POINTS"), points(15));
    }

    #[test]
    fn a_member_with_points_on_hold_is_not_merged_and_nothing_moves() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let (duplicate, survivor) = (village.member("王秀英"), village.member("王秀英"));
        village.earn(duplicate, 12);
        let shop = village.shop(false, 24);
        let goods = village.goods(&shop, "洗衣液", 5, 3);
        let command = PlaceOrderCommand {
            shop_id: shop.id,
            lines: vec![(goods, 1)],
        };
        place_my_order(
            &village.store,
            duplicate,
            &Idempotency::default(),
            &command,
            0,
        )
        .expect("ordered");
        let refused = merge_members(
            &village.store,
            &admin,
            &village.audit(&admin),
            duplicate,
            survivor,
        );
        assert_eq!(refused.err().map(|e| e.code()), Some("validation_failed"));
        assert_eq!(
            (
                village.balance(duplicate, "POINTS"),
                village.balance(survivor, "POINTS")
            ),
            (points(12), 0)
        );
    }

    #[test]
    fn a_member_cannot_be_merged_into_itself() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let member = village.member("王秀英");
        let refused = merge_members(
            &village.store,
            &admin,
            &village.audit(&admin),
            member,
            member,
        );
        assert_eq!(refused.err().map(|e| e.code()), Some("validation_failed"));
    }
}
