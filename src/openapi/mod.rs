//! The OpenAPI document: collected from the route table, then finished with what every
//! operation shares (the bearer scheme and problem+json bodies for every error response).

use actix_web::App;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::http;
use crate::http::problem::{Problem, PROBLEM_TYPE_PREFIX};

mod common;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Points Bank API (积分银行)",
        description = "The volunteer points bank of a village or community: a double-entry ledger of \
points (`POINTS`) and volunteer service hours (`HOURS`).\n\n\
**Conventions.** All amounts are decimal strings with at most two decimals (`\"12.50\"`), never JSON numbers. \
Times are RFC 3339 in UTC. Lists are cursor-paginated: pass `next_cursor` back as `cursor`.\n\n\
**Errors** are RFC 9457 `application/problem+json` with a stable `code` (also the last part of `type`); \
switch on `code`, show `detail`. Every response carries `X-Request-Id`; quote it when reporting a problem.\n\n\
**Retries.** Every request that moves points accepts an `Idempotency-Key` header. Generate a UUID per user action \
and resend the same key when retrying after a timeout: the points move once.\n\n\
**Authentication.** Two kinds of bearer token, named per operation: `staff` tokens from `POST /api/v1/auth/login` \
(village committee staff, by phone and password) and `member` tokens from `POST /api/v1/auth/wechat` (volunteers in the \
mini-program). Send either as `Authorization: Bearer <token>`. A token of the wrong kind is refused with `forbidden`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "Points Bank maintainers"),
    ),
    servers((url = "/", description = "This service (paths are absolute, under /api/v1)")),
    tags(
        (name = "auth", description = "Signing in"),
        (name = "orgs", description = "The organisation tree (county → township → village → grid → building); banks belong to units"),
        (name = "staff", description = "Staff accounts and role grants scoped to a unit and everything below it"),
        (name = "banks", description = "Points books and their verification"),
        (name = "accounts", description = "Member wallets and the bank's own accounts; balances and statements"),
        (name = "entries", description = "Journal entries: awards, deductions, transfers, reversals"),
        (name = "holds", description = "Two-phase reservations used by redemption orders"),
        (name = "members", description = "Volunteers and residents, their 积分银行卡 numbers and card QR codes"),
        (name = "me", description = "Self-service for a signed-in member (the mini-program)"),
        (name = "audit", description = "The append-only record of staff actions"),
        (name = "rules", description = "The bank's points rules (积分细则): what points are for, their range, caps and approval"),
        (name = "awards", description = "Awards and deductions under a rule, for one member or a batch"),
        (name = "claims", description = "Claims (申报), back-filled records (补录) and awards waiting for a second approver"),
        (name = "activities", description = "Volunteer activities: lifecycle, sign-up with waiting list, attendance and settlement"),
        (name = "shops", description = "The points supermarket (积分超市): shops, goods, stock-in, donations, write-offs"),
        (name = "counter", description = "The supermarket counter: orders for members, pickups, cancellations, the end-of-day list"),
        (name = "checkin", description = "QR check-in and check-out: dynamic screen QR, printed poster, staff scanning a member's card; refused scans and appeals"),
        (name = "ops", description = "Health, readiness and metrics"),
    ),
    components(schemas(Problem)),
)]
struct BaseDocument;

/// The API routes mounted under `/api/v1`, plus the operations endpoints at the root.
pub fn mount<T>(app: utoipa_actix_web::UtoipaApp<T>) -> utoipa_actix_web::UtoipaApp<T>
where
    T: actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Error = actix_web::Error,
        InitError = (),
    >,
{
    app.openapi(BaseDocument::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(http::api_routes))
        .service(http::ops::healthz)
        .service(http::ops::readyz)
        .service(http::ops::metrics)
}

/// The document as committed in `openapi/openapi.json` and served at `/api/v1/openapi.json`.
pub fn document() -> Document {
    let (_, api) = mount(App::new().into_utoipa_app()).split_for_parts();
    finish(api)
}

pub fn finish(mut api: Document) -> Document {
    let components = api.components.get_or_insert_with(Default::default);
    for (name, schema) in http::closed_sets::MARKERS {
        components
            .schemas
            .entry(name.to_string())
            .or_insert_with(schema);
    }
    for (name, description) in [
        (
            "staff",
            "A staff access token from `POST /api/v1/auth/login` (or `/auth/refresh`), sent as \
             `Authorization: Bearer <token>`. Carries the staff member's roles and units.",
        ),
        (
            "member",
            "A member (volunteer) access token from `POST /api/v1/auth/wechat`, `/auth/wechat/bind` \
             or `/auth/wechat/refresh`, sent as `Authorization: Bearer <token>`. Used by the \
             mini-program for the member's own `/me/*` data and check-in.",
        ),
    ] {
        components.add_security_scheme(
            name,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(description))
                    .build(),
            ),
        );
    }
    for (path, item) in api.paths.paths.iter_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            common::complete(path, operation);
            for (status, response) in operation.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                let status: u16 = status.parse().unwrap_or(0);
                if status < 400 || !response.content.is_empty() {
                    continue;
                }
                let code = first_code(&response.description).unwrap_or("internal_error");
                let example = serde_json::json!({
                    "type": format!("{PROBLEM_TYPE_PREFIX}{code}"),
                    "title": code.replace('_', " "),
                    "status": status,
                    "detail": response.description.split(';').next().unwrap_or_default()
                        .split(": ").nth(1).unwrap_or(code),
                    "code": code,
                    "request_id": "0b6c8a3e-5a2f-4d2c-9d8e-1f0a7f5c2e11",
                });
                response.content.insert(
                    "application/problem+json".into(),
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "Problem",
                        ))))
                        .example(Some(example))
                        .build(),
                );
            }
        }
    }
    api
}

/// Error responses describe their codes as "`code`: meaning; `other_code`: meaning".
fn first_code(description: &str) -> Option<&str> {
    let start = description.find('`')? + 1;
    let end = start + description[start..].find('`')?;
    Some(&description[start..end])
}

pub fn to_pretty_json(api: &Document) -> String {
    let mut text = api.to_pretty_json().expect("the document serialises");
    text.push('\n');
    text
}
