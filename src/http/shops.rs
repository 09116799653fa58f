//! Shops of the points supermarket (积分超市): opening them and finding them. Their goods are in
//! `goods.rs`, the stock log in `stock.rs`, orders in `orders.rs` and `counter.rs`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{Guard, MemberAuth, Staff};
use super::extract::ApiJson;
use super::types::{required_text, timestamp};
use super::{in_write_tx, with_db, AppState};
use crate::db::shop::{NewShop, ShopRow};
use crate::db::{self, audit, Db};
use crate::domain::access::Action;
use crate::domain::shop::RedemptionDays;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "org_id": 3, "name": "青山村积分超市", "address": "村委会一楼",
    "redemption_days": [1, 15], "allows_cash_topup": true, "pickup_hours": 72
}))]
pub struct ShopBody {
    /// The unit that runs the shop; its bank's points are spent here.
    pub org_id: i64,
    pub name: String,
    pub address: String,
    /// Days of the month on which orders are taken (e.g. the monthly redemption day). Empty or
    /// absent: every day.
    #[serde(default)]
    pub redemption_days: Vec<i64>,
    /// Clerks may complete an order that lacks points with cash (recorded on the order, never in
    /// the points ledger).
    #[serde(default)]
    pub allows_cash_topup: bool,
    /// Unpicked orders expire after this many hours (1–720, default 72), returning points and goods.
    pub pickup_hours: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Shop {
    pub id: i64,
    pub bank_id: i64,
    pub org_id: i64,
    pub name: String,
    pub address: String,
    pub redemption_days: Vec<i64>,
    pub allows_cash_topup: bool,
    pub pickup_hours: i64,
    pub active: bool,
    pub created_at: String,
}

impl From<ShopRow> for Shop {
    fn from(row: ShopRow) -> Shop {
        let days = row
            .redemption_days
            .as_deref()
            .and_then(RedemptionDays::parse)
            .unwrap_or_default();
        Shop {
            id: row.id,
            bank_id: row.bank_id,
            org_id: row.org_id,
            name: row.name,
            address: row.address,
            redemption_days: days.days().to_vec(),
            allows_cash_topup: row.allows_cash_topup,
            pickup_hours: row.pickup_hours,
            active: row.active,
            created_at: timestamp(row.created_at),
        }
    }
}

/// The shop if `guard` allows its action on the shop's unit, with the unit's path.
pub fn shop_in_scope(conn: &mut Db, guard: &Guard, shop_id: i64) -> ApiResult<(ShopRow, String)> {
    let shop = db::shop::get_shop(conn, shop_id)?;
    let path = db::orgs::get_org(conn, shop.org_id)?.path;
    guard.at(&path)?;
    Ok((shop, path))
}

/// Open a shop
#[utoipa::path(
    tag = "shops",
    request_body = ShopBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The shop", body = Shop),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: only org admins of the unit open shops"),
        (status = 404, description = "`not_found`: no such unit"),
        (status = 422, description = "`validation_failed`: a field is malformed, or no bank covers the unit"),
    )
)]
#[post("/shops")]
pub async fn create_shop(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: ApiJson<ShopBody>,
) -> ApiResult<HttpResponse> {
    let body = body.0;
    let name = required_text("name", &body.name, 100)?;
    let address = required_text("address", &body.address, 200)?;
    let days_text = body
        .redemption_days
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let days = RedemptionDays::parse(&days_text)
        .ok_or_else(|| ApiError::validation("redemption_days", "days of the month, 1–31"))?;
    let pickup_hours = body.pickup_hours.unwrap_or(72);
    if !(1..=720).contains(&pickup_hours) {
        return Err(ApiError::validation(
            "pickup_hours",
            "must be between 1 and 720",
        ));
    }
    let guard = staff.guard(Action::ManageShops);
    let audit = staff.audit(&req);
    let shop = in_write_tx(&state, move |conn| {
        let org = db::orgs::get_org(conn, body.org_id)?;
        guard.at(&org.path)?;
        let (bank_id, _) = db::members::bank_for_path(conn, &org.path)?
            .ok_or_else(|| ApiError::validation("org_id", "no points bank covers this unit yet"))?;
        let row = db::shop::create_shop(
            conn,
            NewShop {
                bank_id,
                org_id: org.id,
                name: &name,
                address: &address,
                redemption_days: days.to_text(),
                allows_cash_topup: body.allows_cash_topup,
                pickup_hours,
            },
            db::now_micros(),
        )?;
        let shop = Shop::from(row);
        audit::created(
            conn,
            &audit,
            "shop.create",
            format!("shop:{}", shop.id),
            &org.path,
            &shop,
        )?;
        Ok(shop)
    })
    .await?;
    Ok(HttpResponse::Created().json(shop))
}

/// Shops of my bank
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open shops where my points can be spent", body = Vec<Shop>),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
    )
)]
#[get("/me/shops")]
pub async fn my_shops(state: web::Data<AppState>, member: MemberAuth) -> ApiResult<HttpResponse> {
    let rows = with_db(&state, move |conn| {
        let bank_id = db::members::bank_of(conn, member.0)?;
        db::shop::list_shops(conn, bank_id)
    })
    .await?;
    let shops: Vec<Shop> = rows
        .into_iter()
        .filter(|s| s.active)
        .map(Shop::from)
        .collect();
    Ok(HttpResponse::Ok().json(shops))
}
