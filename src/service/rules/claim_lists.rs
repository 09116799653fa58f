//! Reading claims (申报): a member's own, and a bank's approval queue for its staff.

use crate::db;
use crate::db::rules::claims::{ClaimFilter, ClaimRow};
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// The member's own claims matching `filter`, newest first; the filter is narrowed to them.
pub fn my_claims(
    store: &Store,
    member_id: i64,
    filter: ClaimFilter,
) -> ServiceResult<Vec<ClaimRow>> {
    let filter = ClaimFilter {
        member_id: Some(member_id),
        ..filter
    };
    store.read(|conn| db::rules::claims::list_claims(conn, &filter))
}

/// The bank's claims and pending awards matching `filter`, newest first.
pub fn bank_claims(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    filter: ClaimFilter,
) -> ServiceResult<Vec<ClaimRow>> {
    let guard = staff.guard(Action::ReadLedger);
    let filter = ClaimFilter {
        bank_id: Some(bank_id),
        ..filter
    };
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::rules::claims::list_claims(conn, &filter)
    })
}
