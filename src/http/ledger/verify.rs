//! Verifying a bank's book.

use actix_web::{get, web, HttpResponse};

use crate::db;
use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::types::{VerifyFinding, VerifyReport};
use crate::http::{blocking, AppState};
use crate::service::ledger::verify;

/// Verify a bank
///
/// Recomputes the bank's seal chain and checks every invariant: each entry's postings sum to zero
/// per asset, cached wallet balances equal the sum of their postings, no wallet is below zero,
/// holds match what wallets reserve, and no sealed entry or posting was edited. Reports the first
/// broken place of each kind. Takes time proportional to the bank's history.
#[utoipa::path(
    tag = "banks",
    params(("bank_id" = i64, Path, description = "Bank id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The verification report (check `ok`)", body = VerifyReport),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such bank"),
    )
)]
#[get("/banks/{bank_id}/verify")]
pub async fn verify_bank(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let bank_id = path.into_inner();
    let store = state.store.clone();
    let verification = blocking(move || verify::verify_bank(&store, &staff, bank_id)).await?;
    Ok(HttpResponse::Ok().json(report(verification)))
}

pub fn report(v: db::ledger::verify::Verification) -> VerifyReport {
    VerifyReport {
        bank_id: v.bank_id,
        ok: v.findings.is_empty(),
        entries_checked: v.tally.entries_checked,
        seals_checked: v.tally.seals_checked,
        unsealed_entries: v.tally.unsealed_entries,
        head_seal_seq: v.tally.head_seal_seq,
        head_hash: v.tally.head_hash,
        findings: v.findings.into_iter().map(VerifyFinding::from).collect(),
    }
}
