//! The shops and their goods: opening and changing a shop, adding and changing goods. Their
//! stock moves only through the stock log (`stock`).

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::supermarket::goods::{GoodsFields, GoodsRow};
use crate::db::supermarket::shop::{NewShop, ShopChanges, ShopRow};
use crate::domain::access::Action;
use crate::domain::shop::RedemptionDays;
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::supermarket::shop_in_scope;
use crate::service::Store;

/// How long an unpicked order waits when the shop does not say.
pub const DEFAULT_PICKUP_HOURS: i64 = 72;

/// A shop's settings, checked once, whether it is being opened or changed.
#[derive(Debug, Clone)]
pub struct ShopSettings {
    pub name: String,
    pub address: String,
    pub days: RedemptionDays,
    pub allows_cash_topup: bool,
    pub pickup_hours: i64,
}

impl ShopSettings {
    /// `name` and `address` have been checked for shape; the redemption days must be days of
    /// the month and orders wait 1–720 hours (default `DEFAULT_PICKUP_HOURS`).
    pub fn checked(
        name: String,
        address: String,
        redemption_days: &[i64],
        allows_cash_topup: bool,
        pickup_hours: Option<i64>,
    ) -> ServiceResult<ShopSettings> {
        let days_text = redemption_days
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let days = RedemptionDays::parse(&days_text).ok_or_else(|| {
            ServiceError::validation("redemption_days", "days of the month, 1–31")
        })?;
        let pickup_hours = pickup_hours.unwrap_or(DEFAULT_PICKUP_HOURS);
        if !(1..=720).contains(&pickup_hours) {
            return Err(ServiceError::validation(
                "pickup_hours",
                "must be between 1 and 720",
            ));
        }
        Ok(ShopSettings {
            name,
            address,
            days,
            allows_cash_topup,
            pickup_hours,
        })
    }
}

/// Opens a shop for a unit that a bank covers; its points are that bank's. Only an
/// administrator of the unit may.
pub fn create_shop(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    org_id: i64,
    settings: &ShopSettings,
) -> ServiceResult<ShopRow> {
    let guard = staff.guard(Action::ManageShops);
    store.write(|conn| {
        let path = guard.org(conn, org_id)?;
        let (bank_id, _) = db::members::bank_for_path(conn, &path)?.ok_or_else(|| {
            ServiceError::validation("org_id", "no points bank covers this unit yet")
        })?;
        let new = NewShop {
            bank_id,
            org_id,
            name: &settings.name,
            address: &settings.address,
            redemption_days: settings.days.to_text(),
            allows_cash_topup: settings.allows_cash_topup,
            pickup_hours: settings.pickup_hours,
        };
        let shop = db::supermarket::shop::create_shop(conn, new, store.now())?;
        audit::created(
            conn,
            audit,
            "shop.create",
            format!("shop:{}", shop.id),
            &path,
            &shop,
        )?;
        Ok(shop)
    })
}

/// Replaces a shop's settings; its unit and bank never change. `active: false` closes it to new
/// orders (pending ones can still be picked up).
pub fn update_shop(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    shop_id: i64,
    settings: &ShopSettings,
    active: bool,
) -> ServiceResult<ShopRow> {
    let guard = staff.guard(Action::ManageShops);
    store.write(|conn| {
        let (before, path) = shop_in_scope(conn, &guard, shop_id)?;
        let changes = ShopChanges {
            name: &settings.name,
            address: &settings.address,
            redemption_days: settings.days.to_text(),
            allows_cash_topup: settings.allows_cash_topup,
            pickup_hours: settings.pickup_hours,
            active,
        };
        let after = db::supermarket::shop::update_shop(conn, shop_id, &changes)?;
        let target = format!("shop:{shop_id}");
        audit::changed(conn, audit, "shop.update", target, &path, &before, &after)?;
        Ok(after)
    })
}

/// Adds goods to a shop the caller serves, with no stock yet.
pub fn create_goods(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    shop_id: i64,
    fields: &GoodsFields,
) -> ServiceResult<GoodsRow> {
    let guard = staff.guard(Action::ServeCounter);
    store.write(|conn| {
        let (shop, path) = shop_in_scope(conn, &guard, shop_id)?;
        let goods = db::supermarket::goods::create_goods(conn, &shop, fields, store.now())?;
        let target = format!("goods:{}", goods.id);
        audit::created(conn, audit, "goods.create", target, &path, &goods)?;
        Ok(goods)
    })
}

/// Changes everything about goods but their stock. Pending orders keep the price they were
/// placed at.
pub fn update_goods(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    goods_id: i64,
    fields: &GoodsFields,
) -> ServiceResult<GoodsRow> {
    let guard = staff.guard(Action::ServeCounter);
    store.write(|conn| {
        let before = db::supermarket::goods::get_goods(conn, goods_id)?;
        let (_, path) = shop_in_scope(conn, &guard, before.shop_id)?;
        let after = db::supermarket::goods::update_goods(conn, goods_id, fields)?;
        let target = format!("goods:{goods_id}");
        audit::changed(conn, audit, "goods.update", target, &path, &before, &after)?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::access::orgs::OrgKind;
    use crate::domain::access::Role;
    use crate::service::testing::{points, Village};

    fn settings(pickup_hours: Option<i64>) -> ServiceResult<ShopSettings> {
        ShopSettings::checked(
            "青山村积分超市".into(),
            "村委会一楼".into(),
            &[15, 1],
            true,
            pickup_hours,
        )
    }

    fn soap(price: i64) -> GoodsFields {
        GoodsFields {
            name: "洗衣液 2kg".into(),
            description: String::new(),
            image_url: None,
            category: "日用品".into(),
            price: points(price),
            monthly_limit: Some(2),
            available_from: None,
            available_until: None,
            low_stock_threshold: 5,
            active: true,
        }
    }

    #[test]
    fn a_shop_spends_the_points_of_the_bank_that_covers_its_unit() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);

        let opened = create_shop(
            &village.store,
            &admin,
            &village.audit(&admin),
            village.org.id,
            &settings(None).unwrap(),
        )
        .unwrap();

        assert_eq!(opened.bank_id, village.bank_id);
        assert_eq!(opened.redemption_days.as_deref(), Some("1,15"));
        assert_eq!(opened.pickup_hours, DEFAULT_PICKUP_HOURS);
        assert_eq!(village.audit_log("shop.create").len(), 1);
    }

    #[test]
    fn a_unit_without_a_bank_opens_no_shop() {
        let village = Village::fresh();
        let bankless = village.unit("330106001009", "新建社区", OrgKind::Village, None);
        let platform = village.platform_admin(1);

        let refused = create_shop(
            &village.store,
            &platform,
            &village.audit(&platform),
            bankless.id,
            &settings(None).unwrap(),
        );

        assert_eq!(refused.unwrap_err().field(), Some("org_id"));
        assert!(village.audit_log("shop.create").is_empty());
    }

    #[test]
    fn only_an_administrator_of_its_unit_changes_a_shop_and_the_change_is_audited() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let admin = village.staff(1, Role::OrgAdmin);
        let clerk = village.staff(2, Role::Clerk);
        let closed = settings(Some(48)).unwrap();
        let change = |staff: &Staff| {
            update_shop(
                &village.store,
                staff,
                &village.audit(staff),
                shop.id,
                &closed,
                false,
            )
        };

        let by_clerk = change(&clerk).unwrap_err();
        let by_neighbour = change(&village.neighbouring_clerk(3)).unwrap_err();
        let changed = change(&admin).unwrap();

        assert_eq!(by_clerk.code(), "forbidden");
        assert_eq!(by_neighbour.code(), "not_found");
        assert_eq!((changed.id, changed.bank_id), (shop.id, shop.bank_id));
        assert_eq!((changed.pickup_hours, changed.active), (48, false));
        let logged = village.audit_log("shop.update");
        assert_eq!(logged.len(), 1);
        let before: ShopRow =
            serde_json::from_str(logged[0].before_json.as_deref().unwrap()).unwrap();
        assert_eq!((before.pickup_hours, before.active), (72, true));
    }

    #[test]
    fn goods_start_without_stock_and_a_change_leaves_the_stock_alone() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let clerk = village.staff(2, Role::Clerk);
        let audit = village.audit(&clerk);
        let added = create_goods(&village.store, &clerk, &audit, shop.id, &soap(30)).unwrap();
        assert_eq!(village.stock(added.id), (0, 0));
        let stocked = village.goods(&shop, "大米 5kg", 40, 12);

        let repriced = update_goods(&village.store, &clerk, &audit, stocked, &soap(25)).unwrap();

        assert_eq!((repriced.price, repriced.stock), (points(25), 12));
        assert_eq!(village.audit_log("goods.create").len(), 1);
        assert_eq!(village.audit_log("goods.update").len(), 1);
    }

    #[test]
    fn a_clerk_of_another_village_neither_adds_nor_changes_goods() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap_id = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let stranger = village.neighbouring_clerk(3);
        let audit = village.audit(&stranger);

        let added = create_goods(&village.store, &stranger, &audit, shop.id, &soap(30));
        let changed = update_goods(&village.store, &stranger, &audit, soap_id, &soap(1));

        assert_eq!(added.unwrap_err().code(), "not_found");
        assert_eq!(changed.unwrap_err().code(), "not_found");
        let kept = village
            .store
            .read(|c| db::supermarket::goods::get_goods(c, soap_id))
            .unwrap();
        assert_eq!(kept.price, points(20));
    }

    #[test]
    fn a_shop_takes_orders_on_days_of_the_month_and_keeps_them_one_to_720_hours() {
        let days = |list: &[i64]| {
            ShopSettings::checked("店".into(), "址".into(), list, false, None).map(|s| s.days)
        };
        assert_eq!(days(&[32]).unwrap_err().field(), Some("redemption_days"));
        assert_eq!(days(&[0]).unwrap_err().field(), Some("redemption_days"));
        assert!(days(&[]).unwrap().every_day());
        assert_eq!(settings(Some(0)).unwrap_err().field(), Some("pickup_hours"));
        assert_eq!(
            settings(Some(721)).unwrap_err().field(),
            Some("pickup_hours")
        );
        assert_eq!(settings(Some(720)).unwrap().pickup_hours, 720);
    }
}
