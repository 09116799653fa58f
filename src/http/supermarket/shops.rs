//! Shops of the points supermarket (积分超市): opening them and finding them. Their goods are in
//! `goods.rs`, the stock log in `stock.rs`, orders in `orders.rs` and `counter.rs`.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::supermarket::shop::ShopRow;
use crate::domain::shop::RedemptionDays;
use crate::error::ServiceResult;
use crate::http::access::{MemberAuth, Staff};
use crate::http::extract::ApiJson;
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::types::{required_text, timestamp};
use crate::http::{blocking, AppState};
use crate::service::supermarket::browse;
use crate::service::supermarket::catalog::{self, ShopSettings};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "org_id": 3, "name": "青山村积分超市", "address": "村委会一楼",
    "redemption_days": [1, 15], "allows_cash_topup": true, "pickup_hours": 72
}))]
pub struct ShopBody {
    /// The unit that runs the shop; its bank's points are spent here.
    pub org_id: i64,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(min_length = 1, max_length = 200)]
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
    #[schema(minimum = 1, maximum = 720)]
    pub pickup_hours: Option<i64>,
}

/// The settings of a shop being opened or changed: texts checked here, the rest by the service.
fn check_shop(
    name: &str,
    address: &str,
    redemption_days: &[i64],
    allows_cash_topup: bool,
    pickup_hours: Option<i64>,
) -> ServiceResult<ShopSettings> {
    ShopSettings::checked(
        required_text("name", name, 100)?,
        required_text("address", address, 200)?,
        redemption_days,
        allows_cash_topup,
        pickup_hours,
    )
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "青山村积分超市", "address": "村委会一楼", "redemption_days": [1],
    "allows_cash_topup": true, "pickup_hours": 48, "active": true
}))]
pub struct UpdateShopBody {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    /// Days of the month on which orders are taken. Empty or absent: every day.
    #[serde(default)]
    pub redemption_days: Vec<i64>,
    /// Clerks may complete an order that lacks points with cash. Absent: no.
    #[serde(default)]
    pub allows_cash_topup: bool,
    /// Unpicked orders expire after this many hours (1–720, default 72). Orders already placed
    /// keep their deadline.
    #[schema(minimum = 1, maximum = 720)]
    pub pickup_hours: Option<i64>,
    /// `false` closes the shop: new orders are refused with `shop_closed`, pending ones can still
    /// be picked up. Absent: open.
    #[serde(default = "open")]
    pub active: bool,
}

fn open() -> bool {
    true
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 2, "bank_id": 1, "org_id": 3, "name": "青山村积分超市", "address": "村委会一楼",
    "redemption_days": [1, 15], "allows_cash_topup": true, "pickup_hours": 72, "active": true,
    "created_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Shop {
    pub id: i64,
    /// The bank whose points are spent here (the bank of `org_id`).
    pub bank_id: i64,
    /// The unit that runs the shop.
    pub org_id: i64,
    pub name: String,
    pub address: String,
    /// Days of the month on which orders are taken; empty: every day.
    pub redemption_days: Vec<i64>,
    pub allows_cash_topup: bool,
    /// Hours a member has to pick up an order.
    pub pickup_hours: i64,
    /// Takes new orders (`false`: closed).
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

/// Open a shop
///
/// Opens a points supermarket (积分超市) for a unit that has a bank: its name, the days on which it
/// redeems, how long orders wait for pickup, and whether part of an order may be paid in cash.
#[utoipa::path(
    tag = "shops",
    request_body = ShopBody,
    security(("staff" = [])),
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
) -> ServiceResult<HttpResponse> {
    let body = body.0;
    let settings = check_shop(
        &body.name,
        &body.address,
        &body.redemption_days,
        body.allows_cash_topup,
        body.pickup_hours,
    )?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let org_id = body.org_id;
    let shop =
        blocking(move || catalog::create_shop(&store, &staff, &audit, org_id, &settings)).await?;
    Ok(HttpResponse::Created().json(Shop::from(shop)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShopListQuery {
    /// Shops with an id above this (the `next_cursor` of the previous page).
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "items": [{
        "id": 2, "bank_id": 1, "org_id": 3, "name": "青山村积分超市", "address": "村委会一楼",
        "redemption_days": [1, 15], "allows_cash_topup": true, "pickup_hours": 72, "active": true,
        "created_at": "2026-11-23T08:00:00.000000Z"
    }],
    "next_cursor": null
}))]
pub struct ShopPage {
    /// By id.
    pub items: Vec<Shop>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List shops
///
/// The shops run by units in your scope (open and closed), by id.
#[utoipa::path(
    tag = "shops",
    params(ShopListQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "One page of shops", body = ShopPage),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 422, description = "`validation_failed`: bad cursor or limit"),
    )
)]
#[get("/shops")]
pub async fn list_shops(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<ShopListQuery>,
) -> ServiceResult<HttpResponse> {
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?;
    let store = state.store.clone();
    let rows = blocking(move || browse::list_shops(&store, &staff, after, limit)).await?;
    let next_cursor = next_cursor(&rows, limit, |shop| shop.id);
    Ok(HttpResponse::Ok().json(ShopPage {
        items: rows.into_iter().map(Shop::from).collect(),
        next_cursor,
    }))
}

/// Get a shop
///
/// The shop's settings: redemption days, pickup window, cash top-ups, open or closed.
#[utoipa::path(
    tag = "shops",
    params(("shop_id" = i64, Path, description = "Shop id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The shop", body = Shop),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the shop belongs to a unit above yours"),
        (status = 404, description = "`not_found`: no such shop in your units"),
    )
)]
#[get("/shops/{shop_id}")]
pub async fn get_shop(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let store = state.store.clone();
    let shop = blocking(move || browse::get_shop(&store, &staff, shop_id)).await?;
    Ok(HttpResponse::Ok().json(Shop::from(shop)))
}

/// Change a shop
///
/// Replaces the shop's settings, checked as when it was opened: a field left out takes its
/// default (every day, no cash top-ups, 72 hours, open). The unit and bank of a shop never
/// change. Orders already placed keep their pickup deadline.
#[utoipa::path(
    tag = "shops",
    request_body = UpdateShopBody,
    params(("shop_id" = i64, Path, description = "Shop id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The changed shop", body = Shop),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: only org admins of the shop's unit change shops"),
        (status = 404, description = "`not_found`: no such shop in your units"),
        (status = 422, description = "`validation_failed`: a field is malformed or unknown"),
    )
)]
#[put("/shops/{shop_id}")]
pub async fn update_shop(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<UpdateShopBody>,
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let body = body.0;
    let settings = check_shop(
        &body.name,
        &body.address,
        &body.redemption_days,
        body.allows_cash_topup,
        body.pickup_hours,
    )?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let active = body.active;
    let shop =
        blocking(move || catalog::update_shop(&store, &staff, &audit, shop_id, &settings, active))
            .await?;
    Ok(HttpResponse::Ok().json(Shop::from(shop)))
}

/// Shops of my bank
///
/// The points supermarkets of the signed-in member's bank, with their redemption days and pickup
/// hours, for the mini-program's shop list.
#[utoipa::path(
    tag = "me",
    security(("member" = [])),
    responses(
        (status = 200, description = "Open shops where my points can be spent", body = Vec<Shop>),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
    )
)]
#[get("/me/shops")]
pub async fn my_shops(
    state: web::Data<AppState>,
    member: MemberAuth,
) -> ServiceResult<HttpResponse> {
    let store = state.store.clone();
    let rows = blocking(move || browse::my_shops(&store, member.0)).await?;
    let shops: Vec<Shop> = rows.into_iter().map(Shop::from).collect();
    Ok(HttpResponse::Ok().json(shops))
}
