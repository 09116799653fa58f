//! The supermarket counter: orders and counter sales for members (by card), the pending list,
//! pickups by QR or code, cancellations and the end-of-day list (日结).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::ledger::money::Amount;
use crate::domain::members::card::PresentedCard;
use crate::domain::rules::{day_start, local_date};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::extract::{request_fingerprint, ApiJson, IdempotencyKey};
use crate::http::ledger::entries::created;
use crate::http::supermarket::orders::{
    line_pairs, order_filter, order_page, Order, OrderLineBody, OrderListQuery, OrderPage,
    ORDER_REFUSALS,
};
use crate::http::types::Entry;
use crate::http::{blocking, AppState};
use crate::service::supermarket::counter::{self as service_counter, CounterOrderCommand};
use crate::service::supermarket::pickup::{self, PickupProof};
use crate::service::supermarket::{checked_lines, order_lists};
use crate::service::Idempotency;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "card": "8866 0000 0000 0427", "lines": [{"goods_id": 7, "quantity": 1}],
    "cash_topup": {"points": "5.00", "cash": "5.00"}
}))]
pub struct CounterOrderBody {
    /// The member's scanned card QR or typed card number.
    #[schema(
        pattern = r"^(c\.[0-9]{1,19}\.[0-9]{1,19}\.[A-Za-z0-9_-]{16}|[0-9]{4}([ -]?[0-9]{4}){3})$"
    )]
    pub card: String,
    pub lines: Vec<OrderLineBody>,
    /// Shops that allow it: part of the total paid in cash instead of points (recorded on the
    /// order and the day list, never in the points ledger).
    pub cash_topup: Option<CashTopup>,
    /// `true`: hand the goods over at once (a counter sale, one atomic step after the member
    /// confirmed). `false` (default): a pending order for later pickup.
    #[serde(default)]
    pub fulfil_now: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashTopup {
    /// Points of the total that the cash replaces.
    pub points: Amount,
    /// Cash taken, in yuan.
    pub cash: Amount,
}

/// Order for a member at the counter
///
/// The clerk scans the member's card and picks the goods: a pending order, or with
/// `fulfil_now` a counter sale in one atomic step. Recorded as placed by the clerk on behalf of
/// the member. Send an `Idempotency-Key`: a retry with the same key returns the first order with
/// `Idempotent-Replayed: true`.
#[utoipa::path(
    tag = "counter",
    request_body = CounterOrderBody,
    params(
        ("shop_id" = i64, Path, description = "Shop id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters, unique per order"),
    ),
    security(("staff" = [])),
    responses(
        (status = 201, description = "The order (fulfilled for a counter sale; for a retry, the order the key placed)", body = Order,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored result of an earlier request with the same `Idempotency-Key`"))),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the shops you serve"),
        (status = 404, description = "`not_found`: no such shop, member or goods"),
        (status = 409, description = ORDER_REFUSALS),
        (status = 410, description = "`card_revoked`: an old card that was replaced"),
        (status = 422, description = "`card_invalid`: not one of our cards; `validation_failed`: bad lines, cash top-up not allowed here or larger than the total; `idempotency_conflict`; `idempotency_replay_unavailable`: the key's first request took effect under an older version whose answer cannot be replayed (read the resource)"),
    )
)]
#[post("/shops/{shop_id}/orders")]
pub async fn counter_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    key: IdempotencyKey,
    body: ApiJson<CounterOrderBody>,
) -> ServiceResult<HttpResponse> {
    let idempotency = Idempotency {
        key: key.0,
        fingerprint: request_fingerprint(&req, &body.0),
    };
    let request = body.0;
    let lines = checked_lines(&line_pairs(&request.lines))?;
    let card = PresentedCard::read(state.settings.card_secret.as_bytes(), &request.card)?;
    let cash_topup = request
        .cash_topup
        .map(|topup| service_counter::CashTopup::parse(topup.points.minor(), topup.cash.minor()))
        .transpose()?;
    let command = CounterOrderCommand {
        shop_id: path.into_inner(),
        card,
        lines,
        cash_topup,
        fulfil_now: request.fulfil_now,
    };
    let audit = staff.audit(&req);
    let offset = state.settings.utc_offset_seconds();
    let store = state.store.clone();
    let (record, outcome) = blocking(move || {
        service_counter::counter_order(&store, &staff, &audit, &idempotency, &command, offset)
    })
    .await?;
    Ok(created(
        Order::of(record, state.settings.card_secret.as_bytes()),
        outcome,
    ))
}

/// A shop's orders (counter view)
///
/// `status=pending` is the list of orders waiting for pickup.
#[utoipa::path(
    tag = "counter",
    params(("shop_id" = i64, Path, description = "Shop id"), OrderListQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Orders, newest first", body = OrderPage),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside your scope"),
        (status = 404, description = "`not_found`: no such shop"),
        (status = 422, description = "`validation_failed`: bad status, cursor or limit"),
    )
)]
#[get("/shops/{shop_id}/orders")]
pub async fn shop_orders(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<OrderListQuery>,
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let filter = order_filter(&query)?;
    let limit = filter.limit;
    let store = state.store.clone();
    let records =
        blocking(move || order_lists::shop_orders(&store, &staff, shop_id, filter)).await?;
    Ok(HttpResponse::Ok().json(order_page(
        records,
        limit,
        state.settings.card_secret.as_bytes(),
    )))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pickup": "PBO.AR8YbHZ3kq1mA2Tc"}))]
pub struct PickupBody {
    /// The scanned pickup QR, or the six-digit pickup code the member reads out.
    #[schema(
        pattern = r"^(PBO\.[A-Za-z0-9_-]{1,60}|[0-9]{6})$",
        example = "PBO.AQ3kS9d2Yw4Aa1U"
    )]
    pub pickup: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Pickup {
    pub order: Order,
    /// The `redeem` entry (absent when the whole order was paid in cash).
    pub entry: Option<Entry>,
}

/// Hand over an order (pickup)
///
/// Scans the member's pickup QR (or takes the code): the held points become a `redeem` entry and
/// the goods leave the stock, in one step. A second scan of the same QR is refused.
#[utoipa::path(
    tag = "counter",
    request_body = PickupBody,
    params(("shop_id" = i64, Path, description = "Shop id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The fulfilled order and its entry", body = Pickup),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the shops you serve"),
        (status = 404, description = "`not_found`: no such shop"),
        (status = 409, description = "`order_not_pending`: already picked up, cancelled or expired"),
        (status = 422, description = "`pickup_token_invalid`: not a pickup code of this shop's orders"),
    )
)]
#[post("/shops/{shop_id}/pickups")]
pub async fn fulfil_pickup(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<PickupBody>,
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let proof = PickupProof::read(state.settings.card_secret.as_bytes(), &body.0.pickup)?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let handover =
        blocking(move || pickup::fulfil_pickup(&store, &staff, &audit, shop_id, &proof)).await?;
    Ok(HttpResponse::Ok().json(Pickup {
        order: Order::of(handover.order, state.settings.card_secret.as_bytes()),
        entry: handover.entry.map(Entry::from),
    }))
}

/// Cancel an order at the counter
///
/// Cancels a pending order for the member (e.g. goods no longer wanted): the held points are
/// released and the reserved stock returns to the shelf. A fulfilled or expired order cannot be cancelled.
#[utoipa::path(
    tag = "counter",
    params(("shop_id" = i64, Path, description = "Shop id"), ("order_id" = i64, Path, description = "Order id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The cancelled order", body = Order),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the shops you serve"),
        (status = 404, description = "`not_found`: no such order in this shop"),
        (status = 409, description = "`order_not_pending`: already picked up, cancelled or expired"),
    )
)]
#[post("/shops/{shop_id}/orders/{order_id}/cancel")]
pub async fn cancel_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
) -> ServiceResult<HttpResponse> {
    let (shop_id, order_id) = path.into_inner();
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let record =
        blocking(move || pickup::cancel_order(&store, &staff, &audit, shop_id, order_id)).await?;
    Ok(HttpResponse::Ok().json(Order::of(record, state.settings.card_secret.as_bytes())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The local date, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DayReport {
    pub shop_id: i64,
    pub date: String,
    /// Orders handed over that day (including counter sales).
    pub fulfilled: Vec<Order>,
    pub orders: i64,
    pub points: Amount,
    /// Cash taken for top-ups, in yuan.
    pub cash: Amount,
    /// Items handed over, per goods.
    pub items: Vec<DayItem>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DayItem {
    pub goods_id: i64,
    pub name: String,
    pub quantity: i64,
}

/// The end-of-day list (日结)
///
/// Every order handed over on a local day, with totals of points, cash and items, for checking
/// the till and the shelf at closing time.
#[utoipa::path(
    tag = "counter",
    params(("shop_id" = i64, Path, description = "Shop id"), DayQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The day's redemptions", body = DayReport),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside your scope"),
        (status = 404, description = "`not_found`: no such shop"),
        (status = 422, description = "`validation_failed`: date not YYYY-MM-DD"),
    )
)]
#[get("/shops/{shop_id}/day-report")]
pub async fn day_report(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<DayQuery>,
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let offset = state.settings.utc_offset_seconds();
    let (year, month, day) = match query.date.as_deref() {
        None => local_date(state.now(), offset),
        Some(text) => parse_date(text)
            .ok_or_else(|| ServiceError::validation("date", "must be YYYY-MM-DD"))?,
    };
    let from = day_start(year, month, day, offset);
    let to = from + 86_400_000_000;
    let store = state.store.clone();
    let records =
        blocking(move || order_lists::fulfilled_between(&store, &staff, shop_id, (from, to)))
            .await?;
    let mut items: std::collections::BTreeMap<i64, DayItem> = std::collections::BTreeMap::new();
    for (line, name) in records.iter().flat_map(|r| r.lines.iter()) {
        items
            .entry(line.goods_id)
            .or_insert_with(|| DayItem {
                goods_id: line.goods_id,
                name: name.clone(),
                quantity: 0,
            })
            .quantity += line.quantity;
    }
    let points = records
        .iter()
        .map(|r| r.order.total_points - r.order.cash_points)
        .sum();
    let cash = records.iter().map(|r| r.order.cash_fen).sum();
    let secret = state.settings.card_secret.as_bytes();
    Ok(HttpResponse::Ok().json(DayReport {
        shop_id,
        date: format!("{year:04}-{month:02}-{day:02}"),
        orders: records.len() as i64,
        points: Amount::from_minor(points),
        cash: Amount::from_minor(cash),
        items: items.into_values().collect(),
        fulfilled: records.into_iter().map(|r| Order::of(r, secret)).collect(),
    }))
}

fn parse_date(text: &str) -> Option<(i64, i64, i64)> {
    let mut parts = text.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let valid = parts.next().is_none()
        && (2000..=2200).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day);
    valid.then_some((year, month, day))
}
