//! Reading the catalogue: shops and their goods as the counter sees them (in the staff member's
//! units), and as a member sees them (their own bank's open shops, goods on offer now).

use crate::db;
use crate::db::supermarket::goods::GoodsRow;
use crate::db::supermarket::shop::ShopRow;
use crate::domain::access::Action;
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::supermarket::shop_in_scope;
use crate::service::Store;

/// One page of the shops run by units the staff member may read, by id after `after_id`.
pub fn list_shops(
    store: &Store,
    staff: &Staff,
    after_id: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<ShopRow>> {
    let paths = staff.paths_for(Action::ReadLedger);
    store.read(|conn| db::supermarket::shop::list_under(conn, &paths, after_id, limit))
}

pub fn get_shop(store: &Store, staff: &Staff, shop_id: i64) -> ServiceResult<ShopRow> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| Ok(shop_in_scope(conn, &guard, shop_id)?.0))
}

/// The open shops of the member's bank, where their points can be spent.
pub fn my_shops(store: &Store, member_id: i64) -> ServiceResult<Vec<ShopRow>> {
    let shops = store.read(|conn| {
        let bank_id = db::members::bank_of(conn, member_id)?;
        db::supermarket::shop::list_shops(conn, bank_id)
    })?;
    Ok(shops.into_iter().filter(|shop| shop.active).collect())
}

/// One goods item with its stock and reservations (the counter's view).
pub fn get_goods(store: &Store, staff: &Staff, goods_id: i64) -> ServiceResult<GoodsRow> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        let goods = db::supermarket::goods::get_goods(conn, goods_id)?;
        shop_in_scope(conn, &guard, goods.shop_id)?;
        Ok(goods)
    })
}

/// All of the shop's goods, inactive ones too (the counter's view).
pub fn list_goods(store: &Store, staff: &Staff, shop_id: i64) -> ServiceResult<Vec<GoodsRow>> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        shop_in_scope(conn, &guard, shop_id)?;
        db::supermarket::goods::list_goods(conn, shop_id, false)
    })
}

/// The goods a member may order now from a shop of their bank. Another bank's shop is answered
/// like a missing one.
pub fn browse_goods(store: &Store, member_id: i64, shop_id: i64) -> ServiceResult<Vec<GoodsRow>> {
    let goods = store.read(|conn| {
        let shop = db::supermarket::shop::get_shop(conn, shop_id)?;
        if db::members::bank_of(conn, member_id)? != shop.bank_id {
            return Err(ServiceError::NotFound("shop"));
        }
        db::supermarket::goods::list_goods(conn, shop_id, true)
    })?;
    let now = store.now();
    Ok(goods.into_iter().filter(|g| g.is_offered_at(now)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::service::testing::{points, Village};

    #[test]
    fn a_member_browses_the_shops_of_their_own_bank_only() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        village.goods(&shop, "洗衣液", points(30), 5);
        let member = village.member("王秀英");
        let stranger = village.member_of_neighbouring_bank("李四");

        let goods = browse_goods(&village.store, member, shop.id).expect("goods");
        assert_eq!(goods.len(), 1);
        assert_eq!(my_shops(&village.store, member).expect("shops").len(), 1);

        let hidden = browse_goods(&village.store, stranger, shop.id);
        assert!(
            matches!(hidden, Err(ServiceError::NotFound(_))),
            "{hidden:?}"
        );
        assert!(my_shops(&village.store, stranger)
            .expect("shops")
            .is_empty());
    }

    #[test]
    fn another_villages_clerk_finds_neither_the_shop_nor_its_goods() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let goods_id = village.goods(&shop, "洗衣液", points(30), 5);
        let clerk = village.staff(2, Role::Clerk);
        assert_eq!(
            get_goods(&village.store, &clerk, goods_id)
                .expect("goods")
                .shop_id,
            shop.id
        );

        let stranger = village.neighbouring_clerk(9);
        let shop_seen = get_shop(&village.store, &stranger, shop.id);
        assert!(
            matches!(shop_seen, Err(ServiceError::NotFound(_))),
            "{shop_seen:?}"
        );
        let goods_seen = list_goods(&village.store, &stranger, shop.id);
        assert!(
            matches!(goods_seen, Err(ServiceError::NotFound(_))),
            "{goods_seen:?}"
        );
        assert!(list_shops(&village.store, &stranger, None, 50)
            .expect("shops")
            .is_empty());
    }
}
