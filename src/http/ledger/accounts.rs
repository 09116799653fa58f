//! Accounts: member wallets and the bank's own accounts, with balances and statements.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::ledger::accounts::StatementFilter;
use crate::domain::ledger::{Asset, EntryKind};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::types::{
    optional_text, parse_timestamp, required_text, Account, Statement, StatementLine,
};
use crate::http::{blocking, AppState};
use crate::service::ledger::accounts;
use crate::service::ledger::banks::{self, OpenAccountCommand};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"asset": "POINTS", "name": "张三", "owner_ref": "member:42"}))]
pub struct OpenAccount {
    /// `POINTS` or `HOURS`.
    #[schema(value_type = closed_sets::Asset)]
    pub asset: String,
    /// Display name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Optional reference to the owner, up to 100 characters, e.g. `member:42`.
    #[schema(max_length = 100)]
    pub owner_ref: Option<String>,
}

/// Open a member account
///
/// Opens a wallet for a volunteer in one asset. Wallets start at zero and can never go below it.
#[utoipa::path(
    tag = "accounts",
    request_body = OpenAccount,
    params(("bank_id" = i64, Path, description = "Bank id")),
    security(("staff" = [])),
    responses(
        (status = 201, description = "Opened", body = Account),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such bank"),
        (status = 422, description = "`validation_failed`: a field is missing or malformed"),
    )
)]
#[post("/banks/{bank_id}/accounts")]
pub async fn open_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<OpenAccount>,
) -> ServiceResult<HttpResponse> {
    let asset = Asset::parse(&body.0.asset)
        .ok_or_else(|| ServiceError::validation("asset", "must be POINTS or HOURS"))?;
    let command = OpenAccountCommand {
        bank_id: path.into_inner(),
        asset,
        name: required_text("name", &body.0.name, 100)?,
        owner_ref: optional_text("owner_ref", body.0.owner_ref.as_deref(), 100)?,
    };
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let account = blocking(move || banks::open_account(&store, &staff, &audit, &command)).await?;
    Ok(HttpResponse::Created().json(Account::from(account)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Return accounts with an id greater than this (the `next_cursor` of the previous page).
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<Account>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List a bank's accounts
///
/// Oldest first, cursor-paginated. Includes the bank's own accounts.
#[utoipa::path(
    tag = "accounts",
    params(("bank_id" = i64, Path, description = "Bank id"), ListQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "One page of accounts", body = AccountPage),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 422, description = "`validation_failed`: bad cursor or limit"),
    )
)]
#[get("/banks/{bank_id}/accounts")]
pub async fn list_accounts(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<ListQuery>,
) -> ServiceResult<HttpResponse> {
    let bank_id = path.into_inner();
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?;
    let store = state.store.clone();
    let accounts =
        blocking(move || accounts::list_accounts(&store, &staff, bank_id, after, limit)).await?;
    let next_cursor = next_cursor(&accounts, limit, |a| a.row.id);
    Ok(HttpResponse::Ok().json(AccountPage {
        items: accounts.into_iter().map(Account::from).collect(),
        next_cursor,
    }))
}

/// Get an account with its balance
///
/// `balance` is the sum of all postings, `held` what pending holds reserve, `available` what
/// can be spent now.
#[utoipa::path(
    tag = "accounts",
    params(("bank_id" = i64, Path, description = "Bank id"), ("account_id" = i64, Path, description = "Account id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such account in this bank"),
    )
)]
#[get("/banks/{bank_id}/accounts/{account_id}")]
pub async fn get_account(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, account_id) = path.into_inner();
    let store = state.store.clone();
    let account =
        blocking(move || accounts::get_account(&store, &staff, bank_id, account_id)).await?;
    Ok(HttpResponse::Ok().json(Account::from(account)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// Continue after this point (the `next_cursor` of the previous page).
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Only postings at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Only postings before this time (RFC 3339).
    pub to: Option<String>,
    /// Only entries of this kind (`award`, `deduct`, `redeem`, `reverse`, `expire`, `adjust`, `transfer`).
    #[param(value_type = Option<closed_sets::EntryKind>)]
    pub kind: Option<String>,
}

/// An account's statement
///
/// Every posting on the account, newest first, with the entry it belongs to and (for member
/// wallets) the balance right after it. Nothing ever disappears from a statement: corrections
/// show as `reverse` entries.
#[utoipa::path(
    tag = "accounts",
    params(("bank_id" = i64, Path, description = "Bank id"), ("account_id" = i64, Path, description = "Account id"), StatementQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "One page of the statement", body = Statement),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such account in this bank"),
        (status = 422, description = "`validation_failed`: bad cursor, limit, time or kind"),
    )
)]
#[get("/banks/{bank_id}/accounts/{account_id}/statement")]
pub async fn statement(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
    query: web::Query<StatementQuery>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, account_id) = path.into_inner();
    let query = query.into_inner();
    let kind = match query.kind.as_deref() {
        None => None,
        Some(text) => Some(
            EntryKind::parse(text)
                .ok_or_else(|| ServiceError::validation("kind", "unknown entry kind"))?
                .as_str()
                .to_string(),
        ),
    };
    let filter = StatementFilter {
        before_posting_id: parse_cursor(query.cursor.as_deref())?,
        from_micros: query
            .from
            .as_deref()
            .map(|t| parse_timestamp("from", t))
            .transpose()?,
        to_micros: query
            .to
            .as_deref()
            .map(|t| parse_timestamp("to", t))
            .transpose()?,
        kind,
        limit: page_limit(query.limit)?,
    };
    let limit = filter.limit;
    let store = state.store.clone();
    let rows =
        blocking(move || accounts::statement(&store, &staff, bank_id, account_id, &filter)).await?;
    let next_cursor = next_cursor(&rows, limit, |r| r.posting_id);
    Ok(HttpResponse::Ok().json(Statement {
        account_id,
        items: rows.into_iter().map(StatementLine::from).collect(),
        next_cursor,
    }))
}
