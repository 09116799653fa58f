//! The stock log of a shop's goods: stock-in, donations from sponsors, write-offs, corrections.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::supermarket::goods::MovementRow;
use crate::domain::ledger::money::Amount;
use crate::domain::shop::MovementKind;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::types::{optional_text, timestamp};
use crate::http::{blocking, AppState};
use crate::service::supermarket::stock::{self, MovementCommand};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "donation", "quantity": 20, "donor_name": "青山农业合作社", "donor_value": "600.00",
    "note": "爱心企业捐赠"
}))]
pub struct MovementBody {
    /// `stock_in` (positive), `donation` (positive, with the donor), `write_off` (negative:
    /// damaged, expired) or `correction` (either sign, after a count).
    #[schema(value_type = closed_sets::ManualMovementKind)]
    pub kind: String,
    /// Items; the sign must fit the kind. Stock never drops below what pending orders reserved.
    #[schema(minimum = -1000000, maximum = 1000000)]
    pub quantity: i64,
    /// Donations: the sponsor (爱心企业/爱心人士), shown on the thank-you list.
    #[schema(max_length = 100)]
    pub donor_name: Option<String>,
    /// Donations: the value the donor states, in yuan (not points).
    pub donor_value: Option<Amount>,
    /// Up to 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockMovement {
    pub id: i64,
    pub goods_id: i64,
    #[schema(value_type = closed_sets::MovementKind)]
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
) -> ServiceResult<HttpResponse> {
    let goods_id = path.into_inner();
    let body = body.0;
    let kind = MovementKind::parse(&body.kind)
        .filter(|k| k.is_manual())
        .ok_or_else(|| {
            ServiceError::validation(
                "kind",
                "must be stock_in, donation, write_off or correction",
            )
        })?;
    if !kind.allows(body.quantity) || body.quantity.unsigned_abs() > 1_000_000 {
        return Err(ServiceError::validation(
            "quantity",
            format!("a {kind} needs a quantity of the right sign (at most 1000000)"),
        ));
    }
    let donor_name = optional_text("donor_name", body.donor_name.as_deref(), 100)?;
    if kind == MovementKind::Donation && donor_name.is_none() {
        return Err(ServiceError::validation(
            "donor_name",
            "a donation names its donor (爱心企业/爱心人士)",
        ));
    }
    if body.donor_value.is_some_and(|v| v.is_negative()) {
        return Err(ServiceError::validation(
            "donor_value",
            "must not be negative",
        ));
    }
    let note = optional_text("note", Some(&body.note), 200)?.unwrap_or_default();
    let command = MovementCommand {
        goods_id,
        kind,
        quantity: body.quantity,
        donor_name,
        donor_value_fen: body.donor_value.map(Amount::minor),
        note,
    };
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let movement =
        blocking(move || stock::record_movement(&store, &staff, &audit, &command)).await?;
    Ok(HttpResponse::Created().json(StockMovement::from(movement)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovementQuery {
    /// Only this goods.
    pub goods_id: Option<i64>,
    /// Only this kind, e.g. `donation` for the thank-you list.
    #[param(value_type = Option<closed_sets::MovementKind>)]
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
) -> ServiceResult<HttpResponse> {
    let shop_id = path.into_inner();
    let kind = query
        .kind
        .as_deref()
        .map(|k| {
            MovementKind::parse(k)
                .ok_or_else(|| ServiceError::validation("kind", "unknown movement kind"))
        })
        .transpose()?;
    let goods_id = query.goods_id;
    let store = state.store.clone();
    let rows =
        blocking(move || stock::list_movements(&store, &staff, shop_id, goods_id, kind)).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(StockMovement::from)
            .collect::<Vec<_>>(),
    ))
}
