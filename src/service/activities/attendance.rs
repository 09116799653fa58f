//! The attendance list of an activity and organisers' corrections to it (a forgotten check-out,
//! a phone that died), before settlement pays it.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::activities::attendance::AttendanceRow;
use crate::db::activities::ActivityRow;
use crate::domain::access::Action;
use crate::domain::text::required_text;
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::activities::activity_in_scope;
use crate::service::Store;

/// The activity and its attendances with member names, by check-in time.
pub fn list_attendance(
    store: &Store,
    staff: &Staff,
    activity_id: i64,
) -> ServiceResult<(ActivityRow, Vec<(AttendanceRow, String)>)> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        let (activity, _) = activity_in_scope(conn, &guard, activity_id)?;
        let list = db::activities::attendance::list_attendance(conn, activity_id)?;
        Ok((activity, list))
    })
}

/// New check-in and/or check-out times for one member's attendance, with the reason.
pub struct Correction {
    activity_id: i64,
    member_id: i64,
    checkin_at: Option<i64>,
    checkout_at: Option<i64>,
    reason: String,
}

impl Correction {
    pub fn checked(
        activity_id: i64,
        member_id: i64,
        checkin_at: Option<i64>,
        checkout_at: Option<i64>,
        reason: &str,
    ) -> ServiceResult<Self> {
        if checkin_at.is_none() && checkout_at.is_none() {
            return Err(ServiceError::validation(
                "checkout_at",
                "give checkin_at, checkout_at or both",
            ));
        }
        Ok(Correction {
            activity_id,
            member_id,
            checkin_at,
            checkout_at,
            reason: required_text("reason", reason, 500)?,
        })
    }
}

/// Corrects an attendance that is not settled yet; audited with before and after.
pub fn correct_attendance(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    correction: &Correction,
) -> ServiceResult<(ActivityRow, AttendanceRow)> {
    let guard = staff.guard(Action::RunActivities);
    let (activity_id, member_id) = (correction.activity_id, correction.member_id);
    store.write(|conn| {
        let (activity, path) = activity_in_scope(conn, &guard, activity_id)?;
        let (before, after) = db::activities::attendance::correct(
            conn,
            activity_id,
            member_id,
            correction.checkin_at,
            correction.checkout_at,
            staff.actor(),
            &correction.reason,
        )?;
        let target = format!("activity:{activity_id}:member:{member_id}");
        audit::changed(
            conn,
            audit,
            "attendance.correct",
            target,
            &path,
            &before,
            &after,
        )?;
        Ok((activity, after))
    })
}
