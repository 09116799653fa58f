//! Refused scans and appeals: a member whose scan was refused (a weak GPS fix, an expired code)
//! appeals within the window; an organiser approves (the scan is recorded as it should have
//! been, and paid if the activity was settled) or rejects it.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::activities::refusals::RefusedScanRow;
use crate::domain::access::Action;
use crate::domain::text::{optional_text, required_text};
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::activities::activity_in_scope;
use crate::service::Store;

pub fn refused_for_activity(
    store: &Store,
    staff: &Staff,
    activity_id: i64,
) -> ServiceResult<Vec<RefusedScanRow>> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        activity_in_scope(conn, &guard, activity_id)?;
        db::activities::refusals::refused_for_activity(conn, activity_id)
    })
}

pub fn my_refused_scans(store: &Store, member_id: i64) -> ServiceResult<Vec<RefusedScanRow>> {
    store.read(|conn| db::activities::refusals::refused_for_member(conn, member_id))
}

/// The member appeals their own refused scan, within `window_micros` of it.
pub fn appeal(
    store: &Store,
    member_id: i64,
    refusal_id: i64,
    reason: &str,
    window_micros: i64,
) -> ServiceResult<RefusedScanRow> {
    let reason = required_text("reason", reason, 500)?;
    store.write(|conn| {
        let now = store.now();
        db::activities::refusals::appeal(conn, member_id, refusal_id, &reason, window_micros, now)
    })
}

/// An organiser's answer to a pending appeal (`appeal_not_pending` otherwise).
pub fn decide_appeal(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    (activity_id, refusal_id): (i64, i64),
    approve: bool,
    note: Option<&str>,
) -> ServiceResult<RefusedScanRow> {
    let guard = staff.guard(Action::RunActivities);
    let note = optional_text("note", note, 500)?;
    store.write(|conn| {
        let (_, path) = activity_in_scope(conn, &guard, activity_id)?;
        let row = db::activities::refusals::decide_appeal(
            conn,
            activity_id,
            refusal_id,
            approve,
            staff.actor(),
            note.as_deref(),
            store.now(),
        )?;
        let target = format!("refused_scan:{refusal_id}");
        audit::created(conn, audit, "appeal.decide", target, &path, &row)?;
        Ok(row)
    })
}
