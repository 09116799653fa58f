//! A member's redemption orders from the mini-program: place, list, cancel, and the pickup QR
//! code to show at the counter (the counter's side is in `counter.rs`).

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::supermarket::orders::{OrderFilter, OrderRecord};
use crate::domain::ledger::money::Amount;
use crate::domain::shop::{sign_pickup, OrderStatus};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::MemberAuth;
use crate::http::closed_sets;
use crate::http::extract::{request_fingerprint, ApiJson, IdempotencyKey};
use crate::http::ledger::entries::created;
use crate::http::types::timestamp;
use crate::http::{blocking, AppState};
use crate::qr;
use crate::service::supermarket::checked_lines;
use crate::service::supermarket::orders::{self as member_orders, PlaceOrderCommand};
use crate::service::Idempotency;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineBody {
    pub goods_id: i64,
    /// 1–99.
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"shop_id": 2, "lines": [{"goods_id": 7, "quantity": 1}, {"goods_id": 9, "quantity": 2}]}))]
pub struct PlaceOrderBody {
    pub shop_id: i64,
    /// 1–20 lines, each goods once.
    #[schema(min_items = 1, max_items = 20)]
    pub lines: Vec<OrderLineBody>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub goods_id: i64,
    pub name: String,
    pub quantity: i64,
    /// Points per item when the order was placed.
    pub unit_price: Amount,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 31, "shop_id": 2, "member_id": 42, "status": "pending", "total_points": "60.00",
    "cash_points": "0.00", "cash": "0.00", "lines": [{"goods_id": 7, "name": "洗衣液 2kg", "quantity": 2, "unit_price": "30.00"}],
    "pickup_code": "042917", "pickup_token": "PBO.AR8YbHZ3kq1mA2Tc", "placed_by": "member:42", "on_behalf": false,
    "expires_at": "2026-11-26T08:00:00.000000Z", "closed_by": null, "closed_at": null, "entry_id": null,
    "created_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Order {
    pub id: i64,
    pub shop_id: i64,
    pub member_id: i64,
    /// `pending` (points held, goods set aside), `fulfilled`, `cancelled` or `expired`.
    #[schema(value_type = closed_sets::OrderStatus)]
    pub status: String,
    pub total_points: Amount,
    /// Points of the total paid in cash at the counter instead.
    pub cash_points: Amount,
    /// Cash taken, in yuan.
    pub cash: Amount,
    pub lines: Vec<OrderLine>,
    /// Six digits the member reads out at the counter.
    pub pickup_code: String,
    /// What the pickup QR code encodes (`GET /me/orders/{id}/pickup-qr` draws it).
    pub pickup_token: String,
    pub placed_by: String,
    /// Placed by a clerk for the member ("by `placed_by` on behalf of the member").
    pub on_behalf: bool,
    pub expires_at: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    /// The `redeem` entry of a fulfilled order.
    pub entry_id: Option<i64>,
    pub created_at: String,
}

impl Order {
    pub(super) fn of(record: OrderRecord, secret: &[u8]) -> Order {
        let order = record.order;
        Order {
            id: order.id,
            shop_id: order.shop_id,
            member_id: order.member_id,
            status: order.status,
            total_points: Amount::from_minor(order.total_points),
            cash_points: Amount::from_minor(order.cash_points),
            cash: Amount::from_minor(order.cash_fen),
            lines: record
                .lines
                .into_iter()
                .map(|(line, name)| OrderLine {
                    goods_id: line.goods_id,
                    name,
                    quantity: line.quantity,
                    unit_price: Amount::from_minor(line.unit_price),
                })
                .collect(),
            pickup_code: order.pickup_code,
            pickup_token: sign_pickup(secret, order.id),
            placed_by: order.placed_by,
            on_behalf: order.on_behalf,
            expires_at: timestamp(order.expires_at),
            closed_by: order.closed_by,
            closed_at: order.closed_at.map(timestamp),
            entry_id: order.entry_id,
            created_at: timestamp(order.created_at),
        }
    }
}

/// The lines as `(goods id, quantity)`, for `checked_lines`.
pub(super) fn line_pairs(lines: &[OrderLineBody]) -> Vec<(i64, i64)> {
    lines
        .iter()
        .map(|line| (line.goods_id, line.quantity))
        .collect()
}

pub(super) const ORDER_REFUSALS: &str = "`insufficient_points`: not enough available points; `out_of_stock`: not enough left; `limit_exceeded`: the member's monthly limit for a goods; `not_available_now`: not a redemption day or the goods are out of their window; `shop_closed`; `member_inactive`";

/// Place an order
///
/// Sets the goods aside and holds the points (they show as held, not spent). Pick up at the
/// counter with the pickup QR or code before `expires_at`; an order not picked up expires and
/// gives both back. Send an `Idempotency-Key` so that a retried tap does not order twice: a retry
/// with the same key returns the first order with `Idempotent-Replayed: true`.
#[utoipa::path(
    tag = "me",
    request_body = PlaceOrderBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters, unique per order")),
    security(("member" = [])),
    responses(
        (status = 201, description = "The pending order (or, for a retry, the order the key placed)", body = Order,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored result of an earlier request with the same `Idempotency-Key`"))),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: no such shop or goods in your bank"),
        (status = 409, description = ORDER_REFUSALS),
        (status = 422, description = "`validation_failed`: empty order, bad quantity, a goods twice; `idempotency_conflict`; `idempotency_replay_unavailable`: the key's first request took effect under an older version whose answer cannot be replayed (read the resource)"),
    )
)]
#[post("/me/orders")]
pub async fn place_my_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    member: MemberAuth,
    key: IdempotencyKey,
    body: ApiJson<PlaceOrderBody>,
) -> ServiceResult<HttpResponse> {
    let idempotency = Idempotency {
        key: key.0,
        fingerprint: request_fingerprint(&req, &body.0),
    };
    let command = PlaceOrderCommand {
        shop_id: body.0.shop_id,
        lines: checked_lines(&line_pairs(&body.0.lines))?,
    };
    let member_id = member.0;
    let offset = state.settings.utc_offset_seconds();
    let store = state.store.clone();
    let (record, outcome) = blocking(move || {
        member_orders::place_my_order(&store, member_id, &idempotency, &command, offset)
    })
    .await?;
    Ok(created(
        Order::of(record, state.settings.card_secret.as_bytes()),
        outcome,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// `pending`, `fulfilled`, `cancelled` or `expired` (default: all).
    #[param(value_type = Option<closed_sets::OrderStatus>)]
    pub status: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    /// Newest first.
    pub items: Vec<Order>,
    pub next_cursor: Option<String>,
}

pub(super) fn order_filter(query: &OrderListQuery) -> ServiceResult<OrderFilter> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            OrderStatus::parse(s).ok_or_else(|| {
                ServiceError::validation(
                    "status",
                    "must be pending, fulfilled, cancelled or expired",
                )
            })
        })
        .transpose()?;
    Ok(OrderFilter {
        shop_id: None,
        member_id: None,
        status,
        closed_between: None,
        before_id: crate::http::paging::parse_cursor(query.cursor.as_deref())?,
        limit: crate::http::paging::page_limit(query.limit)?,
    })
}

pub(super) fn order_page(records: Vec<OrderRecord>, limit: i64, secret: &[u8]) -> OrderPage {
    let next_cursor = crate::http::paging::next_cursor(&records, limit, |r| r.order.id);
    OrderPage {
        items: records.into_iter().map(|r| Order::of(r, secret)).collect(),
        next_cursor,
    }
}

/// My orders
///
/// The signed-in member's supermarket orders, newest first: pending ones with their pickup code and
/// deadline, then fulfilled, cancelled and expired ones.
#[utoipa::path(
    tag = "me",
    params(OrderListQuery),
    security(("member" = [])),
    responses(
        (status = 200, description = "My orders", body = OrderPage),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 422, description = "`validation_failed`: bad status, cursor or limit"),
    )
)]
#[get("/me/orders")]
pub async fn my_orders(
    state: web::Data<AppState>,
    member: MemberAuth,
    query: web::Query<OrderListQuery>,
) -> ServiceResult<HttpResponse> {
    let filter = order_filter(&query)?;
    let limit = filter.limit;
    let store = state.store.clone();
    let records = blocking(move || member_orders::my_orders(&store, member.0, filter)).await?;
    Ok(HttpResponse::Ok().json(order_page(
        records,
        limit,
        state.settings.card_secret.as_bytes(),
    )))
}

/// One of my orders
///
/// The order with its lines, status, pickup code and deadline.
#[utoipa::path(
    tag = "me",
    params(("order_id" = i64, Path, description = "Order id")),
    security(("member" = [])),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: no such order of yours"),
    )
)]
#[get("/me/orders/{order_id}")]
pub async fn get_my_order(
    state: web::Data<AppState>,
    member: MemberAuth,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let order_id = path.into_inner();
    let member_id = member.0;
    let store = state.store.clone();
    let record = blocking(move || member_orders::get_my_order(&store, member_id, order_id)).await?;
    Ok(HttpResponse::Ok().json(Order::of(record, state.settings.card_secret.as_bytes())))
}

/// Cancel my order
///
/// Before pickup only. The held points and the goods are released at once.
#[utoipa::path(
    tag = "me",
    params(("order_id" = i64, Path, description = "Order id")),
    security(("member" = [])),
    responses(
        (status = 200, description = "The cancelled order", body = Order),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: no such order of yours"),
        (status = 409, description = "`order_not_pending`: already picked up, cancelled or expired"),
    )
)]
#[delete("/me/orders/{order_id}")]
pub async fn cancel_my_order(
    state: web::Data<AppState>,
    member: MemberAuth,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let order_id = path.into_inner();
    let member_id = member.0;
    let store = state.store.clone();
    let record =
        blocking(move || member_orders::cancel_my_order(&store, member_id, order_id)).await?;
    Ok(HttpResponse::Ok().json(Order::of(record, state.settings.card_secret.as_bytes())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PickupQrQuery {
    /// `png` (default) or `svg`.
    #[param(value_type = Option<closed_sets::PictureFormat>)]
    pub format: Option<String>,
    /// Minimum edge in pixels, 64–2048 (default 384).
    #[param(minimum = 64, maximum = 2048)]
    pub size: Option<u32>,
}

/// My order's pickup QR code
///
/// Show it at the counter; the clerk scans it to hand over the goods.
#[utoipa::path(
    tag = "me",
    params(("order_id" = i64, Path, description = "Order id"), PickupQrQuery),
    security(("member" = [])),
    responses(
        (status = 200, description = "The QR code as `image/png` (default) or `image/svg+xml` (`format=svg`)", content((Vec<u8> = "image/png"), (String = "image/svg+xml"))),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: no such order of yours"),
        (status = 422, description = "`validation_failed`: bad format or size"),
    )
)]
#[get("/me/orders/{order_id}/pickup-qr")]
pub async fn pickup_qr(
    state: web::Data<AppState>,
    member: MemberAuth,
    path: web::Path<i64>,
    query: web::Query<PickupQrQuery>,
) -> ServiceResult<HttpResponse> {
    let order_id = path.into_inner();
    let member_id = member.0;
    let format = closed_sets::lookup(
        closed_sets::PICTURE_FORMATS,
        query.format.as_deref().unwrap_or("png"),
    )
    .ok_or_else(|| ServiceError::validation("format", "must be png or svg"))?;
    let store = state.store.clone();
    // Only the member's own order has a pickup code to show.
    blocking(move || member_orders::get_my_order(&store, member_id, order_id)).await?;
    let token = sign_pickup(state.settings.card_secret.as_bytes(), order_id);
    let bytes = qr::render(
        &token,
        format,
        query.size.unwrap_or(384),
        qrcode::EcLevel::M,
    )?;
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .body(bytes))
}
