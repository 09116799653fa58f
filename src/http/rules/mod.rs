//! The bank's catalogue of points rules (积分细则).

pub mod awards;
pub mod claims;

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::rules::{RuleFields, RuleRow};
use crate::domain::ledger::money::Amount;
use crate::domain::rules::{Caps, RuleCategory, RuleRange};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::types::{required_text, timestamp};
use crate::http::{blocking, AppState};
use crate::service::rules::catalog;

const MAX_CODE_CHARS: usize = 40;
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "V01", "name": "防溺水巡河（每次）", "category": "volunteer_service",
    "default_points": "5.00", "min_points": "5.00", "max_points": "10.00",
    "needs_second_approver": false, "cap_per_day": "10.00", "cap_per_month": null,
    "cap_per_year": null, "active": true
}))]
pub struct RuleBody {
    /// Short code printed in the village's rule book, unique per bank; 1–40 characters. Cannot
    /// change later.
    #[schema(min_length = 1, max_length = 40)]
    pub code: String,
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `volunteer_service`, `public_welfare`, `village_rules` (村规民约), `good_deeds`,
    /// `deduction` or `other`.
    #[schema(value_type = closed_sets::RuleCategory)]
    pub category: String,
    /// Points of one award. Negative for a deduction (扣分).
    pub default_points: Amount,
    /// Smallest amount staff may award under the rule (default: `default_points`). Same sign.
    pub min_points: Option<Amount>,
    /// Largest amount staff may award under the rule (default: `default_points`). Same sign.
    pub max_points: Option<Amount>,
    /// Awards under this rule wait for a second staff member's approval.
    #[serde(default)]
    pub needs_second_approver: bool,
    /// Most points one member may receive under this rule per calendar day (local time).
    pub cap_per_day: Option<Amount>,
    pub cap_per_month: Option<Amount>,
    pub cap_per_year: Option<Amount>,
    /// Inactive rules stay on old statements but take no new awards. Default true.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl RuleBody {
    fn fields(&self) -> ServiceResult<RuleFields> {
        let code = required_text("code", &self.code, MAX_CODE_CHARS)?;
        let name = required_text("name", &self.name, MAX_NAME_CHARS)?;
        let category = RuleCategory::parse(&self.category).ok_or_else(|| {
            ServiceError::validation(
                "category",
                "must be volunteer_service, public_welfare, village_rules, good_deeds, deduction or other",
            )
        })?;
        let default = self.default_points.minor();
        let range = RuleRange::parse(
            default,
            self.min_points.map_or(default, Amount::minor),
            self.max_points.map_or(default, Amount::minor),
        )
        .map_err(|e| ServiceError::validation("default_points", e.to_string()))?;
        let cap = |field: &str, value: Option<Amount>| -> ServiceResult<Option<i64>> {
            match value {
                Some(amount) if !amount.is_positive() => {
                    Err(ServiceError::validation(field, "must be positive"))
                }
                other => Ok(other.map(Amount::minor)),
            }
        };
        Ok(RuleFields {
            code,
            name,
            category,
            range,
            needs_second_approver: self.needs_second_approver,
            caps: Caps {
                per_day: cap("cap_per_day", self.cap_per_day)?,
                per_month: cap("cap_per_month", self.cap_per_month)?,
                per_year: cap("cap_per_year", self.cap_per_year)?,
            },
            active: self.active,
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "bank_id": 1, "code": "V01", "name": "防溺水巡河（每次）", "category": "volunteer_service",
    "default_points": "5.00", "min_points": "5.00", "max_points": "10.00",
    "needs_second_approver": false, "cap_per_day": "10.00", "cap_per_month": null,
    "cap_per_year": null, "active": true, "created_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Rule {
    pub id: i64,
    pub bank_id: i64,
    pub code: String,
    pub name: String,
    #[schema(value_type = closed_sets::RuleCategory)]
    pub category: String,
    pub default_points: Amount,
    pub min_points: Amount,
    pub max_points: Amount,
    pub needs_second_approver: bool,
    pub cap_per_day: Option<Amount>,
    pub cap_per_month: Option<Amount>,
    pub cap_per_year: Option<Amount>,
    pub active: bool,
    pub created_at: String,
}

impl From<RuleRow> for Rule {
    fn from(row: RuleRow) -> Rule {
        Rule {
            id: row.id,
            bank_id: row.bank_id,
            code: row.code,
            name: row.name,
            category: row.category,
            default_points: Amount::from_minor(row.default_points),
            min_points: Amount::from_minor(row.min_points),
            max_points: Amount::from_minor(row.max_points),
            needs_second_approver: row.needs_second_approver,
            cap_per_day: row.cap_per_day.map(Amount::from_minor),
            cap_per_month: row.cap_per_month.map(Amount::from_minor),
            cap_per_year: row.cap_per_year.map(Amount::from_minor),
            active: row.active,
            created_at: timestamp(row.created_at),
        }
    }
}

/// Create a points rule
///
/// Adds a rule to the bank's catalogue (积分细则). Every award and deduction is made under a rule,
/// so statements and reports can say what the points were for.
#[utoipa::path(
    tag = "rules",
    request_body = RuleBody,
    params(("bank_id" = i64, Path, description = "Bank id")),
    security(("staff" = [])),
    responses(
        (status = 201, description = "The new rule", body = Rule),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: only org admins of the bank's unit manage rules"),
        (status = 404, description = "`not_found`: no such bank"),
        (status = 409, description = "`already_exists`: the bank has a rule with this code"),
        (status = 422, description = "`validation_failed`: a field is malformed, e.g. min/default/max out of order or of mixed signs"),
    )
)]
#[post("/banks/{bank_id}/rules")]
pub async fn create_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<RuleBody>,
) -> ServiceResult<HttpResponse> {
    let bank_id = path.into_inner();
    let fields = body.0.fields()?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let rule =
        blocking(move || catalog::create_rule(&store, &staff, &audit, bank_id, &fields)).await?;
    Ok(HttpResponse::Created().json(Rule::from(rule)))
}

/// Change a points rule
///
/// Replaces everything but the code. Awards already posted keep the amounts they were posted
/// with; the change applies to new awards.
#[utoipa::path(
    tag = "rules",
    request_body = RuleBody,
    params(
        ("bank_id" = i64, Path, description = "Bank id"),
        ("rule_id" = i64, Path, description = "Rule id"),
    ),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The changed rule", body = Rule),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: only org admins of the bank's unit manage rules"),
        (status = 404, description = "`not_found`: no such rule in this bank"),
        (status = 422, description = "`validation_failed`: a field is malformed or the code differs"),
    )
)]
#[put("/banks/{bank_id}/rules/{rule_id}")]
pub async fn update_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
    body: ApiJson<RuleBody>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, rule_id) = path.into_inner();
    let fields = body.0.fields()?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let rule =
        blocking(move || catalog::update_rule(&store, &staff, &audit, bank_id, rule_id, &fields))
            .await?;
    Ok(HttpResponse::Ok().json(Rule::from(rule)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleListQuery {
    /// Also list inactive rules (default false).
    #[serde(default)]
    pub include_inactive: bool,
}

/// List points rules
///
/// The bank's rule catalogue by category and code.
#[utoipa::path(
    tag = "rules",
    params(("bank_id" = i64, Path, description = "Bank id"), RuleListQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The rules", body = Vec<Rule>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the bank is outside your scope"),
        (status = 404, description = "`not_found`: no such bank"),
    )
)]
#[get("/banks/{bank_id}/rules")]
pub async fn list_rules(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<RuleListQuery>,
) -> ServiceResult<HttpResponse> {
    let bank_id = path.into_inner();
    let include_inactive = query.include_inactive;
    let store = state.store.clone();
    let rules =
        blocking(move || catalog::list_rules(&store, &staff, bank_id, include_inactive)).await?;
    Ok(HttpResponse::Ok().json(rules.into_iter().map(Rule::from).collect::<Vec<_>>()))
}

/// Get a rule
///
/// One points rule of the bank with its range, caps and whether a second person must approve
/// awards under it; also a rule no longer in use.
#[utoipa::path(
    tag = "rules",
    params(
        ("bank_id" = i64, Path, description = "Bank id"),
        ("rule_id" = i64, Path, description = "Rule id"),
    ),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The rule", body = Rule),
        (status = 404, description = "`not_found`: no such bank in your scope, or no such rule in it"),
    )
)]
#[get("/banks/{bank_id}/rules/{rule_id}")]
pub async fn get_rule(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, rule_id) = path.into_inner();
    let store = state.store.clone();
    let rule = blocking(move || catalog::get_rule(&store, &staff, bank_id, rule_id)).await?;
    Ok(HttpResponse::Ok().json(Rule::from(rule)))
}
