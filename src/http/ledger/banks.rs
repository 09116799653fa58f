//! Banks: one points book per village or community.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::extract::ApiJson;
use crate::http::types::{required_text, Bank};
use crate::http::{blocking, AppState};
use crate::service::ledger::banks::{self, CreateBankCommand};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"org_id": 1, "name": "青山村积分银行"}))]
pub struct CreateBank {
    /// The organisation unit that owns the bank.
    pub org_id: i64,
    /// Display name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// Create a bank
///
/// Opens a points book for an organisation unit, with its own issuance, redemption, expiry and
/// adjustment accounts for both assets (`POINTS` and `HOURS`).
#[utoipa::path(
    tag = "banks",
    request_body = CreateBank,
    security(("staff" = [])),
    responses(
        (status = 201, description = "Created", body = Bank),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the unit is outside your scope"),
        (status = 404, description = "`not_found`: no such organisation unit"),
        (status = 422, description = "`validation_failed`: a field is missing or malformed"),
    )
)]
#[post("/banks")]
pub async fn create_bank(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: ApiJson<CreateBank>,
) -> ServiceResult<HttpResponse> {
    let command = CreateBankCommand {
        org_id: body.0.org_id,
        name: required_text("name", &body.0.name, 100)?,
    };
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let bank = blocking(move || banks::create_bank(&store, &staff, &audit, &command)).await?;
    Ok(HttpResponse::Created().json(Bank::from(bank)))
}

/// List banks
///
/// The banks of the units in your scope.
#[utoipa::path(
    tag = "banks",
    security(("staff" = [])),
    responses(
        (status = 200, description = "All banks", body = Vec<Bank>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
    )
)]
#[get("/banks")]
pub async fn list_banks(state: web::Data<AppState>, staff: Staff) -> ServiceResult<HttpResponse> {
    let store = state.store.clone();
    let banks = blocking(move || banks::list_banks(&store, &staff)).await?;
    Ok(HttpResponse::Ok().json(banks.into_iter().map(Bank::from).collect::<Vec<_>>()))
}

/// Get a bank
///
/// One points bank: its unit, name and system accounts. Only banks of units in your scope are
/// found; others answer `not_found`.
#[utoipa::path(
    tag = "banks",
    params(("bank_id" = i64, Path, description = "Bank id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The bank", body = Bank),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the bank is outside your scope"),
        (status = 404, description = "`not_found`: no such bank"),
    )
)]
#[get("/banks/{bank_id}")]
pub async fn get_bank(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let bank_id = path.into_inner();
    let store = state.store.clone();
    let bank = blocking(move || banks::get_bank(&store, &staff, bank_id)).await?;
    Ok(HttpResponse::Ok().json(Bank::from(bank)))
}
