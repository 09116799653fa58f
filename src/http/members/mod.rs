//! Members (volunteers and residents), their 积分银行卡 and its QR code.

pub mod cards;
pub mod me;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db;
use crate::db::access::audit;
use crate::db::members::{MemberRow, NewMember};
use crate::domain::access::identity::{mask_id_card, parse_id_card};
use crate::domain::access::privacy::{is_mainland_mobile, mask_phone};
use crate::domain::access::Action;
use crate::domain::members::card::{card_number, sign_card, CardClaim, PresentedCard};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::types::{optional_text, required_text, timestamp, Account};
use crate::http::{in_write_tx, with_db, AppState};
use crate::qr;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "org_id": 5, "name": "王秀英", "phone": "138****1234", "id_card": "330106********002X",
    "household": "青山村 3 组 12 号", "tags": ["党员", "志愿者"], "status": "active", "allow_proxy": false,
    "card_number": "8866000000000422", "created_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Member {
    pub id: i64,
    /// Home unit (a village, grid or building).
    pub org_id: i64,
    pub name: String,
    /// Masked: `138****1234`.
    pub phone: Option<String>,
    /// Masked: region code and last four only. The full number never leaves the server.
    pub id_card: Option<String>,
    pub household: Option<String>,
    pub tags: Vec<String>,
    /// `active`, `suspended` or `left`.
    pub status: String,
    /// A grid worker may act on the member's behalf.
    pub allow_proxy: bool,
    /// The 16-digit number printed on the member's card (last digit is a check digit).
    pub card_number: String,
    /// Set when this record was merged into another (the same person registered twice).
    pub merged_into: Option<i64>,
    pub created_at: String,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Member {
        Member {
            card_number: card_number(row.id),
            id: row.id,
            org_id: row.org_id,
            name: row.name,
            phone: row.phone.as_deref().map(mask_phone),
            id_card: row.id_card.as_deref().map(mask_id_card),
            household: row.household,
            tags: row
                .tags
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            status: row.status,
            allow_proxy: row.allow_proxy,
            merged_into: row.merged_into,
            created_at: timestamp(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDetail {
    #[serde(flatten)]
    pub member: Member,
    /// The member's wallets (`POINTS` and `HOURS`) with balances.
    pub wallets: Vec<Account>,
}

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

fn check_tags(tags: &[String]) -> ServiceResult<String> {
    if tags.len() > 10 {
        return Err(ServiceError::validation("tags", "at most 10 tags"));
    }
    for (i, tag) in tags.iter().enumerate() {
        let len = tag.trim().chars().count();
        if len == 0 || len > 20 || tag.contains(',') {
            return Err(ServiceError::validation(
                format!("tags[{i}]"),
                "1–20 characters, no commas",
            ));
        }
    }
    Ok(tags.iter().map(|t| t.trim()).collect::<Vec<_>>().join(","))
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
    let name = required_text("name", &request.name, 50)?;
    if let Some(phone) = &request.phone {
        if !is_mainland_mobile(phone) {
            return Err(ServiceError::validation(
                "phone",
                "must be an 11-digit mainland-China mobile number",
            ));
        }
    }
    let id_card = request
        .id_card
        .as_deref()
        .map(|id| {
            parse_id_card(id).ok_or_else(|| {
                ServiceError::validation(
                    "id_card",
                    "not a valid 18-character ID number (check digit)",
                )
            })
        })
        .transpose()?;
    let household = optional_text("household", request.household.as_deref(), 100)?;
    let tags = check_tags(&request.tags)?;
    let guard = staff.guard(Action::OpenAccounts);
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let detail = in_write_tx(&state, move |conn| {
        let org = db::access::orgs::get_org(conn, request.org_id)?;
        guard.at(&org.path)?;
        let new = NewMember {
            org_id: org.id,
            name: &name,
            phone: request.phone.as_deref(),
            id_card: id_card.as_deref(),
            household: household.as_deref(),
            tags: &tags,
            allow_proxy: request.allow_proxy,
        };
        let (member, _) = db::members::create_member(conn, new, store.now())?;
        let detail = detail_of(conn, member)?;
        audit::created(
            conn,
            &audit,
            "member.create",
            format!("member:{}", detail.member.id),
            &org.path,
            &detail,
        )?;
        Ok(detail)
    })
    .await?;
    Ok(HttpResponse::Created().json(detail))
}

pub fn detail_of(conn: &mut db::Db, member: MemberRow) -> ServiceResult<MemberDetail> {
    let wallets = db::members::wallets_of(conn, member.id)?
        .into_iter()
        .map(|row| db::ledger::accounts::with_balance(conn, row).map(Account::from))
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(MemberDetail {
        member: Member::from(member),
        wallets,
    })
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
    let paths = staff.paths_for(Action::ReadLedger);
    let rows = with_db(&state, move |conn| {
        db::members::list_under(conn, &paths, after, limit)
    })
    .await?;
    let next_cursor = next_cursor(&rows, limit, |m| m.id);
    Ok(HttpResponse::Ok().json(MemberPage {
        items: rows.into_iter().map(Member::from).collect(),
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
    let guard = staff.guard(Action::ReadLedger);
    let detail = with_db(&state, move |conn| {
        let (member, path) = db::members::get_member(conn, member_id)?;
        guard.at(&path)?;
        detail_of(conn, member)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

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
    let payload = card_payload_in_scope(&state, &staff, path.into_inner()).await?;
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
    let payload = card_payload_in_scope(&state, &staff, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(payload))
}

async fn card_payload_in_scope(
    state: &web::Data<AppState>,
    staff: &Staff,
    member_id: i64,
) -> ServiceResult<CardPayload> {
    let guard = staff.guard(Action::ReadLedger);
    let (member, _) = with_db(state, move |conn| {
        let found = db::members::get_member(conn, member_id)?;
        guard.at(&found.1)?;
        Ok(found)
    })
    .await?;
    Ok(CardPayload {
        member_id: member.id,
        card_number: card_number(member.id),
        token: card_token(state, &member),
    })
}

/// What the member's card QR code carries: a signed token naming the current issue of the card.
pub fn card_token(state: &AppState, member: &MemberRow) -> String {
    let claim = CardClaim {
        member_id: member.id,
        version: member.card_version,
    };
    sign_card(state.settings.card_secret.as_bytes(), claim)
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
    let guard = staff.guard(Action::OpenAccounts);
    let audit = staff.audit(&req);
    let detail = in_write_tx(&state, move |conn| {
        let (before, path) = db::members::get_member(conn, member_id)?;
        guard.at(&path)?;
        let after = db::members::reissue_card(conn, member_id)?;
        let change = serde_json::json!({"card_version": [before.card_version, after.card_version]});
        audit::created(
            conn,
            &audit,
            "member.card_reissue",
            format!("member:{member_id}"),
            &path,
            &change,
        )?;
        detail_of(conn, after)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
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
    let guard = staff.guard(Action::ReadLedger);
    let detail = with_db(&state, move |conn| {
        let (member, path) = db::members::get_member(conn, presented.member_id)?;
        guard.at(&path)?;
        presented.check_current(member.card_version)?;
        detail_of(conn, member)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"into_member_id": 42}))]
pub struct MergeMembers {
    /// The surviving record of the same person.
    pub into_member_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResult {
    /// The merged (now `left`) record.
    pub merged: Member,
    /// The surviving record with its new balances.
    pub into: MemberDetail,
    /// The `transfer` entries that moved the balances.
    pub entry_ids: Vec<i64>,
}

/// Merge a duplicate member
///
/// When one person was registered twice: moves every balance of `member_id` to `into_member_id`
/// by `transfer` entries, moves the WeChat binding if the survivor has none, and marks the
/// duplicate `left` (its history stays readable). Needs `org_admin` over both members. Refused
/// while the duplicate has pending holds, or when the two keep points in different banks.
#[utoipa::path(
    tag = "members",
    request_body = MergeMembers,
    params(("member_id" = i64, Path, description = "The duplicate record to merge away")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Merged", body = MergeResult),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: a member is outside your scope"),
        (status = 404, description = "`not_found`: no such member"),
        (status = 422, description = "`validation_failed`: same member, already merged, pending holds, or different banks"),
    )
)]
#[post("/members/{member_id}/merge")]
pub async fn merge_members(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<MergeMembers>,
) -> ServiceResult<HttpResponse> {
    let member_id = path.into_inner();
    let into_id = body.0.into_member_id;
    let guard = staff.guard(Action::PostEntries);
    let audit = staff.audit(&req);
    let actor = staff.actor().to_string();
    let store = state.store.clone();
    let result = in_write_tx(&state, move |conn| {
        let (source, source_path) = db::members::get_member(conn, member_id)?;
        let (target, target_path) = db::members::get_member(conn, into_id)?;
        guard.at(&source_path)?;
        guard.at(&target_path)?;
        let before = serde_json::json!({"merged": Member::from(source.clone()), "into": Member::from(target.clone())});
        let entry_ids = db::members::merge(conn, &source, &target, &actor, store.now())?;
        let merged = Member::from(db::members::get_member(conn, member_id)?.0);
        let survivor = db::members::get_member(conn, into_id)?.0;
        let result = MergeResult {
            merged,
            into: detail_of(conn, survivor)?,
            entry_ids,
        };
        audit::changed(conn, &audit, "member.merge", format!("member:{member_id}"), &source_path, &before, &result)?;
        Ok(result)
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}
