//! The register of members: registering, listing, reading and finding one by card.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::members::card::PresentedCard;
use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::extract::ApiJson;
use crate::http::members::{Member, MemberDetail};
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::{blocking, AppState};
use crate::service::members::roster::{self, MemberForm, NewMemberCommand};
use crate::service::members::MemberRecord;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "org_id": 5, "name": "王秀英", "phone": "13812341234", "id_card": "330106198001010021",
    "household": "青山村 3 组 12 号", "tags": ["党员", "志愿者"], "allow_proxy": false
}))]
pub struct CreateMember {
    /// Home unit: a village, grid or building with a points bank at or above it.
    pub org_id: i64,
    /// 1–50 characters.
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// Mainland-China mobile number; unique across all members.
    pub phone: Option<String>,
    /// 18-character resident ID number with a valid check digit; unique. Stored, never returned in full.
    pub id_card: Option<String>,
    /// Household (户), up to 100 characters, so household totals can be shown.
    #[schema(max_length = 100)]
    pub household: Option<String>,
    /// Up to 10 tags of 1–20 characters, e.g. `党员`, `学生`, `志愿者`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether a grid worker may act on the member's behalf (default false).
    #[serde(default)]
    pub allow_proxy: bool,
}

/// Register a member
///
/// Registers a volunteer or resident in their home unit and opens their `POINTS` and `HOURS`
/// wallets in the bank of that unit. The same phone or ID number can never make two members.
#[utoipa::path(
    tag = "members",
    request_body = CreateMember,
    security(("staff" = [])),
    responses(
        (status = 201, description = "Registered, with card number and wallets", body = MemberDetail),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the unit is outside your scope"),
        (status = 404, description = "`not_found`: no such unit"),
        (status = 409, description = "`already_exists`: a member with this phone or ID number exists"),
        (status = 422, description = "`validation_failed`: a field is malformed, or no bank covers the unit"),
    )
)]
#[post("/members")]
pub async fn create_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: ApiJson<CreateMember>,
) -> ServiceResult<HttpResponse> {
    let request = body.0;
    let command = NewMemberCommand::checked(MemberForm {
        org_id: request.org_id,
        name: &request.name,
        phone: request.phone.as_deref(),
        id_card: request.id_card.as_deref(),
        household: request.household.as_deref(),
        tags: &request.tags,
        allow_proxy: request.allow_proxy,
    })?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let detail =
        blocking(move || roster::register_member(&store, &staff, &audit, &command)).await?;
    Ok(HttpResponse::Created().json(MemberDetail::from(detail)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberListQuery {
    /// Members with an id above this (the `next_cursor` of the previous page).
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<Member>,
    pub next_cursor: Option<String>,
}

/// List members
///
/// Members whose home unit is in your scope, by id. Phone and ID numbers are masked.
#[utoipa::path(
    tag = "members",
    params(MemberListQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "One page of members", body = MemberPage),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 422, description = "`validation_failed`: bad cursor or limit"),
    )
)]
#[get("/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<MemberListQuery>,
) -> ServiceResult<HttpResponse> {
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?;
    let store = state.store.clone();
    let rows = blocking(move || roster::list_members(&store, &staff, after, limit)).await?;
    let next_cursor = next_cursor(&rows, limit, |m| m.id);
    Ok(HttpResponse::Ok().json(MemberPage {
        items: rows
            .into_iter()
            .map(|row| Member::from(MemberRecord::from(row)))
            .collect(),
        next_cursor,
    }))
}

/// Get a member
///
/// The member with card number and wallet balances.
#[utoipa::path(
    tag = "members",
    params(("member_id" = i64, Path, description = "Member id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The member", body = MemberDetail),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the member's unit is outside your scope"),
        (status = 404, description = "`not_found`: no such member"),
    )
)]
#[get("/members/{member_id}")]
pub async fn get_member(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let member_id = path.into_inner();
    let store = state.store.clone();
    let detail = blocking(move || roster::get_member(&store, &staff, member_id)).await?;
    Ok(HttpResponse::Ok().json(MemberDetail::from(detail)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"card": "c.42.1.Qm9vdGhzLWFyZS1m"}))]
pub struct CardLookup {
    /// What the scanner read from the card's QR code, or the card number typed in (spaces allowed).
    #[schema(
        pattern = r"^(c\.[0-9]{1,19}\.[0-9]{1,19}\.[A-Za-z0-9_-]{16}|[0-9]{4}([ -]?[0-9]{4}){3})$"
    )]
    pub card: String,
}

/// Find a member by card
///
/// Resolves a scanned card QR code (or a typed card number) to the member, e.g. at the
/// supermarket counter or an event for members without a smartphone.
#[utoipa::path(
    tag = "members",
    request_body = CardLookup,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The card's member", body = MemberDetail),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the member's unit is outside your scope"),
        (status = 404, description = "`not_found`: no such member"),
        (status = 410, description = "`card_revoked`: an old card that was replaced by a re-issue"),
        (status = 422, description = "`card_invalid`: not one of our card codes or numbers (forged, damaged, or a typo caught by the check digit)"),
    )
)]
#[post("/members/lookup")]
pub async fn lookup(
    state: web::Data<AppState>,
    staff: Staff,
    body: ApiJson<CardLookup>,
) -> ServiceResult<HttpResponse> {
    let presented = PresentedCard::read(state.settings.card_secret.as_bytes(), &body.0.card)?;
    let store = state.store.clone();
    let detail = blocking(move || roster::find_by_card(&store, &staff, &presented)).await?;
    Ok(HttpResponse::Ok().json(MemberDetail::from(detail)))
}
