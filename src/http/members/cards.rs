//! The member's card QR code: the image, the token it carries, and re-issuing a lost card.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::members::card::card_number;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::members::{card_token, MemberDetail};
use crate::http::{blocking, AppState};
use crate::qr;
use crate::service::members::cards;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardQuery {
    /// `png` (default) or `svg`. The payload alone is `GET /members/{member_id}/card/payload`.
    #[param(value_type = Option<closed_sets::PictureFormat>)]
    pub format: Option<String>,
    /// Minimum width and height in pixels, 64–2048 (default 512).
    #[param(minimum = 64, maximum = 2048)]
    pub size: Option<u32>,
    /// Error-correction level: `L`, `M` (default), `Q` or `H`.
    #[param(value_type = Option<closed_sets::QrEcLevel>)]
    pub ec: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"member_id": 42, "card_number": "8866000000000422", "token": "c.42.1.Qm9vdGhzLWFyZS1m"}))]
pub struct CardPayload {
    pub member_id: i64,
    pub card_number: String,
    /// What the card's QR code encodes: signed, and revoked when the card is re-issued.
    pub token: String,
}

/// The member's card QR code
///
/// The QR code printed on the member's 积分银行卡, for staff to scan at events and at the
/// supermarket counter. It encodes a signed token (not the bare number) that stops working when
/// the card is re-issued; `GET /members/{member_id}/card/payload` gives the token itself.
#[utoipa::path(
    tag = "members",
    params(("member_id" = i64, Path, description = "Member id"), CardQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The QR code as `image/png` (default) or `image/svg+xml` (`format=svg`)", content(
            (Vec<u8> = "image/png"),
            (String = "image/svg+xml"),
        )),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the member's unit is outside your scope"),
        (status = 404, description = "`not_found`: no such member"),
        (status = 422, description = "`validation_failed`: bad format, size or ec"),
    )
)]
#[get("/members/{member_id}/card")]
pub async fn card(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<CardQuery>,
) -> ServiceResult<HttpResponse> {
    let format = closed_sets::lookup(
        closed_sets::PICTURE_FORMATS,
        query.format.as_deref().unwrap_or("png"),
    )
    .ok_or_else(|| ServiceError::validation("format", "must be png or svg"))?;
    let size = query.size.unwrap_or(512);
    let level = qr::ec_level(query.ec.as_deref())?;
    let payload = card_payload_in_scope(&state, staff, path.into_inner()).await?;
    let body = web::block(move || qr::render(&payload.token, format, size, level))
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("rendering failed: {e}")))??;
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .body(body))
}

/// What the member's card QR code encodes
///
/// The card number and the signed token the card's QR code carries, for printing cards with your
/// own layout. The token stops working when the card is re-issued.
#[utoipa::path(
    tag = "members",
    params(("member_id" = i64, Path, description = "Member id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The card's payload", body = CardPayload),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the member's unit is outside your scope"),
        (status = 404, description = "`not_found`: no such member"),
    )
)]
#[get("/members/{member_id}/card/payload")]
pub async fn card_payload(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let payload = card_payload_in_scope(&state, staff, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(payload))
}

async fn card_payload_in_scope(
    state: &web::Data<AppState>,
    staff: Staff,
    member_id: i64,
) -> ServiceResult<CardPayload> {
    let store = state.store.clone();
    let member = blocking(move || cards::card_holder(&store, &staff, member_id)).await?;
    Ok(CardPayload {
        member_id: member.id,
        card_number: card_number(member.id),
        token: card_token(state, member.id, member.card_version),
    })
}

/// Re-issue a member's card
///
/// For a lost card: the card number stays, the QR code changes, and the old card's QR code is
/// refused from now on (`card_revoked`).
#[utoipa::path(
    tag = "members",
    params(("member_id" = i64, Path, description = "Member id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The member; fetch the new QR code from `/card`", body = MemberDetail),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the member's unit is outside your scope"),
        (status = 404, description = "`not_found`: no such member"),
    )
)]
#[post("/members/{member_id}/card/reissue")]
pub async fn reissue_card(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let member_id = path.into_inner();
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let detail = blocking(move || cards::reissue_card(&store, &staff, &audit, member_id)).await?;
    Ok(HttpResponse::Ok().json(MemberDetail::from(detail)))
}
