//! Shops of the points supermarket (积分超市), their goods and the stock log (stock-in,
//! donations from sponsors, write-offs, corrections).

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{Guard, MemberAuth, Staff};
use super::extract::ApiJson;
use super::types::{optional_text, parse_timestamp, required_text, timestamp};
use super::{in_write_tx, with_db, AppState};
use crate::db::shop::{GoodsFields, GoodsRow, Movement, MovementRow, NewShop, ShopRow};
use crate::db::{self, audit, Db};
use crate::domain::access::Action;
use crate::domain::money::Amount;
use crate::domain::shop::{MovementKind, RedemptionDays};
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

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "洗衣液 2kg", "description": "蓝月亮", "image_url": "https://img.example.cn/xiyiye.jpg",
    "category": "日用品", "price": "30", "monthly_limit": 2, "available_from": null,
    "available_until": null, "low_stock_threshold": 5, "active": true
}))]
pub struct GoodsBody {
    /// 1–100 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub image_url: Option<String>,
    /// e.g. 日用品, 粮油, 文具; up to 40 characters.
    pub category: String,
    /// Points per item, positive.
    pub price: Amount,
    /// Most items one member may order per calendar month (local time). Omit for no limit.
    pub monthly_limit: Option<i64>,
    /// Offered only from / until these times (RFC 3339), e.g. a festival gift.
    pub available_from: Option<String>,
    pub available_until: Option<String>,
    /// Counter view flags the goods when the unreserved stock is at or below this (default 5).
    pub low_stock_threshold: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl GoodsBody {
    fn fields(&self) -> ApiResult<GoodsFields> {
        if !self.price.is_positive() {
            return Err(ApiError::validation("price", "must be positive"));
        }
        if let Some(url) = &self.image_url {
            if !url.starts_with("https://") && !url.starts_with("http://") || url.len() > 500 {
                return Err(ApiError::validation(
                    "image_url",
                    "must be an http(s) link of at most 500 characters",
                ));
            }
        }
        if self.monthly_limit.is_some_and(|limit| limit < 1) {
            return Err(ApiError::validation("monthly_limit", "must be at least 1"));
        }
        let window = |field: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| parse_timestamp(field, t))
                .transpose()
        };
        Ok(GoodsFields {
            name: required_text("name", &self.name, 100)?,
            description: optional_text("description", Some(&self.description), 1000)?
                .unwrap_or_default(),
            image_url: self.image_url.clone(),
            category: required_text("category", &self.category, 40)?,
            price: self.price.minor(),
            monthly_limit: self.monthly_limit,
            available_from: window("available_from", &self.available_from)?,
            available_until: window("available_until", &self.available_until)?,
            low_stock_threshold: self.low_stock_threshold.unwrap_or(5).max(0),
            active: self.active,
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 7, "shop_id": 2, "name": "洗衣液 2kg", "description": "蓝月亮", "image_url": null,
    "category": "日用品", "price": "30.00", "stock": 12, "reserved": 3, "available": 9,
    "low_stock": false, "monthly_limit": 2, "available_from": null, "available_until": null,
    "active": true
}))]
pub struct Goods {
    pub id: i64,
    pub shop_id: i64,
    pub name: String,
    pub description: String,
    pub image_url: Option<String>,
    pub category: String,
    pub price: Amount,
    /// On the shelf (from the stock log).
    pub stock: i64,
    /// Set aside for pending orders.
    pub reserved: i64,
    /// What can still be ordered: stock − reserved.
    pub available: i64,
    /// `available` is at or below the goods' low-stock threshold.
    pub low_stock: bool,
    pub monthly_limit: Option<i64>,
    pub available_from: Option<String>,
    pub available_until: Option<String>,
    pub active: bool,
}

impl From<GoodsRow> for Goods {
    fn from(row: GoodsRow) -> Goods {
        Goods {
            id: row.id,
            shop_id: row.shop_id,
            available: row.available(),
            low_stock: row.available() <= row.low_stock_threshold,
            name: row.name,
            description: row.description,
            image_url: row.image_url,
            category: row.category,
            price: Amount::from_minor(row.price),
            stock: row.stock,
            reserved: row.reserved,
            monthly_limit: row.monthly_limit,
            available_from: row.available_from.map(timestamp),
            available_until: row.available_until.map(timestamp),
            active: row.active,
        }
    }
}

/// Add goods to a shop
///
/// New goods start with no stock: record a stock-in or donation next.
#[utoipa::path(
    tag = "shops",
    request_body = GoodsBody,
    params(("shop_id" = i64, Path, description = "Shop id")),
    security(("staff" = [])),
    responses(
        (status = 201, description = "The goods", body = Goods),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the shops you serve"),
        (status = 404, description = "`not_found`: no such shop"),
        (status = 422, description = "`validation_failed`: a field is malformed"),
    )
)]
#[post("/shops/{shop_id}/goods")]
pub async fn create_goods(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<GoodsBody>,
) -> ApiResult<HttpResponse> {
    let shop_id = path.into_inner();
    let fields = body.0.fields()?;
    let guard = staff.guard(Action::ServeCounter);
    let audit = staff.audit(&req);
    let goods = in_write_tx(&state, move |conn| {
        let (shop, path) = shop_in_scope(conn, &guard, shop_id)?;
        let goods = Goods::from(db::shop::create_goods(
            conn,
            &shop,
            &fields,
            db::now_micros(),
        )?);
        audit::created(
            conn,
            &audit,
            "goods.create",
            format!("goods:{}", goods.id),
            &path,
            &goods,
        )?;
        Ok(goods)
    })
    .await?;
    Ok(HttpResponse::Created().json(goods))
}

/// Change goods
///
/// Changes everything but the stock (which moves only through the stock log). Pending orders
/// keep the price they were placed at.
#[utoipa::path(
    tag = "shops",
    request_body = GoodsBody,
    params(("goods_id" = i64, Path, description = "Goods id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The goods", body = Goods),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the shops you serve"),
        (status = 404, description = "`not_found`: no such goods"),
        (status = 422, description = "`validation_failed`: a field is malformed"),
    )
)]
#[put("/goods/{goods_id}")]
pub async fn update_goods(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<GoodsBody>,
) -> ApiResult<HttpResponse> {
    let goods_id = path.into_inner();
    let fields = body.0.fields()?;
    let guard = staff.guard(Action::ServeCounter);
    let audit = staff.audit(&req);
    let goods = in_write_tx(&state, move |conn| {
        let before = db::shop::get_goods(conn, goods_id)?;
        let (_, path) = shop_in_scope(conn, &guard, before.shop_id)?;
        let after = Goods::from(db::shop::update_goods(conn, goods_id, &fields)?);
        audit::changed(
            conn,
            &audit,
            "goods.update",
            format!("goods:{goods_id}"),
            &path,
            &Goods::from(before),
            &after,
        )?;
        Ok(after)
    })
    .await?;
    Ok(HttpResponse::Ok().json(goods))
}

/// The shop's goods and stock (counter view)
///
/// All goods with stock, reservations and low-stock flags.
#[utoipa::path(
    tag = "shops",
    params(("shop_id" = i64, Path, description = "Shop id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Goods by category", body = Vec<Goods>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside your scope"),
        (status = 404, description = "`not_found`: no such shop"),
    )
)]
#[get("/shops/{shop_id}/goods")]
pub async fn list_goods(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let shop_id = path.into_inner();
    let guard = staff.guard(Action::ReadLedger);
    let rows = with_db(&state, move |conn| {
        shop_in_scope(conn, &guard, shop_id)?;
        db::shop::list_goods(conn, shop_id, false)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(Goods::from).collect::<Vec<_>>()))
}

/// Browse a shop's goods
///
/// Goods a member can order now (active, inside their availability window), by category.
#[utoipa::path(
    tag = "me",
    params(("shop_id" = i64, Path, description = "Shop id")),
    security(("member" = [])),
    responses(
        (status = 200, description = "Goods on offer", body = Vec<Goods>),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: no such shop in your bank"),
    )
)]
#[get("/me/shops/{shop_id}/goods")]
pub async fn browse_goods(
    state: web::Data<AppState>,
    member: MemberAuth,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let shop_id = path.into_inner();
    let rows = with_db(&state, move |conn| {
        let shop = db::shop::get_shop(conn, shop_id)?;
        if db::members::bank_of(conn, member.0)? != shop.bank_id {
            return Err(ApiError::NotFound("shop"));
        }
        db::shop::list_goods(conn, shop_id, true)
    })
    .await?;
    let now = db::now_micros();
    let goods: Vec<Goods> = rows
        .into_iter()
        .filter(|g| g.is_offered_at(now))
        .map(Goods::from)
        .collect();
    Ok(HttpResponse::Ok().json(goods))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "donation", "quantity": 20, "donor_name": "青山农业合作社", "donor_value": "600.00",
    "note": "爱心企业捐赠"
}))]
pub struct MovementBody {
    /// `stock_in` (positive), `donation` (positive, with the donor), `write_off` (negative:
    /// damaged, expired) or `correction` (either sign, after a count).
    pub kind: String,
    /// Items; the sign must fit the kind. Stock never drops below what pending orders reserved.
    pub quantity: i64,
    /// Donations: the sponsor (爱心企业/爱心人士), shown on the thank-you list.
    pub donor_name: Option<String>,
    /// Donations: the value the donor states, in yuan (not points).
    pub donor_value: Option<Amount>,
    /// Up to 200 characters.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockMovement {
    pub id: i64,
    pub goods_id: i64,
    pub kind: String,
    pub quantity: i64,
    pub donor_name: Option<String>,
    /// Yuan.
    pub donor_value: Option<Amount>,
    pub note: String,
    pub order_id: Option<i64>,
    pub actor: String,
    pub at: String,
}

impl From<MovementRow> for StockMovement {
    fn from(row: MovementRow) -> StockMovement {
        StockMovement {
            id: row.id,
            goods_id: row.goods_id,
            kind: row.kind,
            quantity: row.quantity,
            donor_name: row.donor_name,
            donor_value: row.donor_value_fen.map(Amount::from_minor),
            note: row.note,
            order_id: row.order_id,
            actor: row.actor,
            at: timestamp(row.created_at),
        }
    }
}

/// Record a stock movement
///
/// Stock-in, a sponsor's donation, a write-off or a correction. The stock log is append-only;
/// the goods' stock follows it.
#[utoipa::path(
    tag = "shops",
    request_body = MovementBody,
    params(("goods_id" = i64, Path, description = "Goods id")),
    security(("staff" = [])),
    responses(
        (status = 201, description = "The movement", body = StockMovement),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the shops you serve"),
        (status = 404, description = "`not_found`: no such goods"),
        (status = 409, description = "`out_of_stock`: a write-off or correction would take stock below what pending orders reserved"),
        (status = 422, description = "`validation_failed`: unknown kind, a quantity of the wrong sign, a donation without donor"),
    )
)]
#[post("/goods/{goods_id}/stock-movements")]
pub async fn record_movement(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<MovementBody>,
) -> ApiResult<HttpResponse> {
    let goods_id = path.into_inner();
    let body = body.0;
    let kind = MovementKind::parse(&body.kind)
        .filter(|k| *k != MovementKind::Redemption)
        .ok_or_else(|| {
            ApiError::validation(
                "kind",
                "must be stock_in, donation, write_off or correction",
            )
        })?;
    if !kind.allows(body.quantity) || body.quantity.abs() > 1_000_000 {
        return Err(ApiError::validation(
            "quantity",
            format!("a {kind} needs a quantity of the right sign (at most 1000000)"),
        ));
    }
    let donor_name = optional_text("donor_name", body.donor_name.as_deref(), 100)?;
    if kind == MovementKind::Donation && donor_name.is_none() {
        return Err(ApiError::validation(
            "donor_name",
            "a donation names its donor (爱心企业/爱心人士)",
        ));
    }
    if body.donor_value.is_some_and(|v| v.is_negative()) {
        return Err(ApiError::validation("donor_value", "must not be negative"));
    }
    let note = optional_text("note", Some(&body.note), 200)?.unwrap_or_default();
    let guard = staff.guard(Action::ServeCounter);
    let actor = staff.actor().to_string();
    let audit = staff.audit(&req);
    let movement = in_write_tx(&state, move |conn| {
        let goods = db::shop::get_goods(conn, goods_id)?;
        let (_, path) = shop_in_scope(conn, &guard, goods.shop_id)?;
        let row = db::shop::record_movement(
            conn,
            Movement {
                goods: &goods,
                kind,
                quantity: body.quantity,
                donor_name: donor_name.as_deref(),
                donor_value_fen: body.donor_value.map(Amount::minor),
                note: &note,
                order_id: None,
                actor: &actor,
            },
            db::now_micros(),
        )?;
        let movement = StockMovement::from(row);
        audit::created(
            conn,
            &audit,
            "stock.move",
            format!("goods:{goods_id}"),
            &path,
            &movement,
        )?;
        Ok(movement)
    })
    .await?;
    Ok(HttpResponse::Created().json(movement))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovementQuery {
    /// Only this goods.
    pub goods_id: Option<i64>,
    /// Only this kind, e.g. `donation` for the thank-you list.
    pub kind: Option<String>,
}

/// The shop's stock log
///
/// Newest first, at most 500. `kind=donation` is the list of sponsors to thank publicly.
#[utoipa::path(
    tag = "shops",
    params(("shop_id" = i64, Path, description = "Shop id"), MovementQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Stock movements", body = Vec<StockMovement>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside your scope"),
        (status = 404, description = "`not_found`: no such shop"),
        (status = 422, description = "`validation_failed`: unknown kind"),
    )
)]
#[get("/shops/{shop_id}/stock-movements")]
pub async fn list_movements(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<MovementQuery>,
) -> ApiResult<HttpResponse> {
    let shop_id = path.into_inner();
    let kind = query
        .kind
        .as_deref()
        .map(|k| {
            MovementKind::parse(k)
                .ok_or_else(|| ApiError::validation("kind", "unknown movement kind"))
        })
        .transpose()?;
    let goods_id = query.goods_id;
    let guard = staff.guard(Action::ReadLedger);
    let rows = with_db(&state, move |conn| {
        shop_in_scope(conn, &guard, shop_id)?;
        db::shop::list_movements(conn, shop_id, goods_id, kind, 500)
    })
    .await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(StockMovement::from)
            .collect::<Vec<_>>(),
    ))
}
