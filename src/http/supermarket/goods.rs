//! Goods of a shop: defining them, the counter's view with stock and reservations, and what a
//! member may order now.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::supermarket::goods::{GoodsFields, GoodsRow};
use crate::domain::ledger::money::Amount;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::{MemberAuth, Staff};
use crate::http::extract::ApiJson;
use crate::http::types::{optional_text, parse_timestamp, required_text, timestamp};
use crate::http::{blocking, AppState};
use crate::service::supermarket::{browse, catalog};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "洗衣液 2kg", "description": "蓝月亮", "image_url": "https://img.example.cn/xiyiye.jpg",
    "category": "日用品", "price": "30", "monthly_limit": 2, "available_from": null,
    "available_until": null, "low_stock_threshold": 5, "active": true
}))]
pub struct GoodsBody {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    pub image_url: Option<String>,
    /// e.g. 日用品, 粮油, 文具; up to 40 characters.
    #[schema(min_length = 1, max_length = 40)]
    pub category: String,
    /// Points per item, positive.
    pub price: Amount,
    /// Most items one member may order per calendar month (local time). Omit for no limit.
    #[schema(minimum = 1)]
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
    fn fields(&self) -> ServiceResult<GoodsFields> {
        if !self.price.is_positive() {
            return Err(ServiceError::validation("price", "must be positive"));
        }
        if let Some(url) = &self.image_url {
            if !url.starts_with("https://") && !url.starts_with("http://") || url.len() > 500 {
                return Err(ServiceError::validation(
                    "image_url",
                    "must be an http(s) link of at most 500 characters",
                ));
            }
        }
        if self.monthly_limit.is_some_and(|limit| limit < 1) {
            return Err(ServiceError::validation(
                "monthly_limit",
                "must be at least 1",
            ));
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
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let fields = body.0.fields()?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let goods =
        blocking(move || catalog::create_goods(&store, &staff, &audit, shop_id, &fields)).await?;
    Ok(HttpResponse::Created().json(Goods::from(goods)))
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
) -> ServiceResult<HttpResponse> {
    let goods_id = path.into_inner();
    let fields = body.0.fields()?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let goods =
        blocking(move || catalog::update_goods(&store, &staff, &audit, goods_id, &fields)).await?;
    Ok(HttpResponse::Ok().json(Goods::from(goods)))
}

/// Get goods
///
/// One goods item with its stock, reservations and low-stock flag (counter view).
#[utoipa::path(
    tag = "shops",
    params(("goods_id" = i64, Path, description = "Goods id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The goods", body = Goods),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the goods' shop belongs to a unit above yours"),
        (status = 404, description = "`not_found`: no such goods in your units"),
    )
)]
#[get("/goods/{goods_id}")]
pub async fn get_goods(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let goods_id = path.into_inner();
    let store = state.store.clone();
    let goods = blocking(move || browse::get_goods(&store, &staff, goods_id)).await?;
    Ok(HttpResponse::Ok().json(Goods::from(goods)))
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
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let store = state.store.clone();
    let rows = blocking(move || browse::list_goods(&store, &staff, shop_id)).await?;
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
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let store = state.store.clone();
    let rows = blocking(move || browse::browse_goods(&store, member.0, shop_id)).await?;
    let goods: Vec<Goods> = rows.into_iter().map(Goods::from).collect();
    Ok(HttpResponse::Ok().json(goods))
}
