//! Self-service for signed-in members (the mini-program): profile, wallets, statement, card.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::db::ledger::accounts::StatementFilter;
use crate::domain::ledger::Asset;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::MemberAuth;
use crate::http::closed_sets;
use crate::http::members::{card_token, MemberDetail};
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::types::{timestamp, Statement, StatementLine};
use crate::http::{blocking, AppState};
use crate::qr;
use crate::service::members::{self as service_members, me as member_self};

/// My profile and wallets
///
/// The signed-in member: name, card number, home unit, and balances of `POINTS` (with `held` by
/// pending orders and `available`) and `HOURS` (service hours).
#[utoipa::path(
    tag = "me",
    security(("member" = [])),
    responses(
        (status = 200, description = "Me", body = MemberDetail),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 403, description = "`forbidden`: a staff token, not a member token"),
    )
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, member: MemberAuth) -> ServiceResult<HttpResponse> {
    let store = state.store.clone();
    let detail = blocking(move || service_members::my_detail(&store, member.0)).await?;
    Ok(HttpResponse::Ok().json(MemberDetail::from(detail)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyStatementQuery {
    /// `POINTS` (default) or `HOURS`.
    #[param(value_type = Option<closed_sets::Asset>)]
    pub asset: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// My statement
///
/// Every movement of my points (or hours), newest first, with what caused it. Corrections appear
/// as their own `reverse` lines: nothing ever silently disappears.
#[utoipa::path(
    tag = "me",
    params(MyStatementQuery),
    security(("member" = [])),
    responses(
        (status = 200, description = "One page of my statement", body = Statement),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 403, description = "`forbidden`: a staff token, not a member token"),
        (status = 422, description = "`validation_failed`: bad asset, cursor or limit"),
    )
)]
#[get("/me/statement")]
pub async fn my_statement(
    state: web::Data<AppState>,
    member: MemberAuth,
    query: web::Query<MyStatementQuery>,
) -> ServiceResult<HttpResponse> {
    let asset = Asset::parse(query.asset.as_deref().unwrap_or("POINTS"))
        .ok_or_else(|| ServiceError::validation("asset", "must be POINTS or HOURS"))?;
    let filter = StatementFilter {
        before_posting_id: parse_cursor(query.cursor.as_deref())?,
        limit: page_limit(query.limit)?,
        ..StatementFilter::default()
    };
    let limit = filter.limit;
    let store = state.store.clone();
    let statement =
        blocking(move || member_self::my_statement(&store, member.0, asset, &filter)).await?;
    let next_cursor = next_cursor(&statement.lines, limit, |r| r.posting_id);
    Ok(HttpResponse::Ok().json(Statement {
        account_id: statement.account_id,
        items: statement
            .lines
            .into_iter()
            .map(StatementLine::from)
            .collect(),
        next_cursor,
    }))
}

/// My card QR code
///
/// The QR code of my 积分银行卡 (PNG) to show at the counter or an event.
#[utoipa::path(
    tag = "me",
    security(("member" = [])),
    responses(
        (status = 200, description = "PNG image", content_type = "image/png", body = Vec<u8>),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 403, description = "`forbidden`: a staff token, not a member token"),
    )
)]
#[get("/me/card")]
pub async fn my_card(
    state: web::Data<AppState>,
    member: MemberAuth,
) -> ServiceResult<HttpResponse> {
    let store = state.store.clone();
    let mine = blocking(move || service_members::my_detail(&store, member.0)).await?;
    let token = card_token(&state, mine.member.id, mine.member.card_version);
    let png = web::block(move || qr::render(&token, qr::Format::Png, 512, qrcode::EcLevel::M))
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("rendering failed: {e}")))??;
    Ok(HttpResponse::Ok().content_type("image/png").body(png))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MyData {
    /// When this export was made.
    pub exported_at: String,
    pub member: MemberDetail,
    /// Every posting on my wallets, oldest first, per asset.
    pub statements: Vec<Statement>,
    /// Whether a WeChat user is bound to me.
    pub wechat_bound: bool,
}

/// Export my data
///
/// Everything the points bank keeps about me, as one JSON document (the personal-information
/// copy PIPL gives every member a right to). The ID number stays masked.
#[utoipa::path(
    tag = "me",
    security(("member" = [])),
    responses(
        (status = 200, description = "My data (as a download)", body = MyData),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 403, description = "`forbidden`: a staff token, not a member token"),
    )
)]
#[get("/me/export")]
pub async fn my_export(
    state: web::Data<AppState>,
    member: MemberAuth,
) -> ServiceResult<HttpResponse> {
    let store = state.store.clone();
    let data = blocking(move || member_self::my_export(&store, member.0)).await?;
    let data = MyData {
        exported_at: timestamp(data.exported_at),
        member: MemberDetail::from(data.member),
        statements: data
            .statements
            .into_iter()
            .map(|statement| Statement {
                account_id: statement.account_id,
                items: statement
                    .lines
                    .into_iter()
                    .map(StatementLine::from)
                    .collect(),
                next_cursor: None,
            })
            .collect(),
        wechat_bound: data.wechat_bound,
    };
    Ok(HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"my-points-bank-data.json\"",
        ))
        .json(data))
}
