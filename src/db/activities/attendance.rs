//! Attendance: accepted scans, the attendance list and organisers' corrections.

use diesel::prelude::*;

use crate::db::activities::{is_confirmed, ActivityRow};
use crate::db::rules::awards::require_active_member;
use crate::db::schema::{attendances, members};
use crate::db::Db;
use crate::domain::activities::activity::Purpose;
use crate::domain::activities::checkin::ScanRefusal;
use crate::error::{ConflictCode, ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = attendances)]
pub struct AttendanceRow {
    pub id: i64,
    pub bank_id: i64,
    pub activity_id: i64,
    pub member_id: i64,
    pub checkin_at: i64,
    pub checkin_method: String,
    pub checkout_at: Option<i64>,
    pub checkout_method: Option<String>,
    pub recorded_by: String,
    pub corrected_by: Option<String>,
    pub correction_reason: Option<String>,
    pub settled_at: Option<i64>,
    pub settled_entry_id: Option<i64>,
    pub points: Option<i64>,
    pub hours: Option<i64>,
    pub checkout_missing: bool,
}

/// One accepted scan, after the token, window and geofence checks.
pub struct Scan<'a> {
    pub activity: &'a ActivityRow,
    pub member_id: i64,
    pub purpose: Purpose,
    /// `dynamic_qr`, `poster`, `card_scan` or `appeal`.
    pub method: &'a str,
    pub at: i64,
    pub recorded_by: &'a str,
}

pub(super) fn find(
    conn: &mut Db,
    activity_id: i64,
    member_id: i64,
) -> ServiceResult<Option<AttendanceRow>> {
    Ok(attendances::table
        .filter(attendances::activity_id.eq(activity_id))
        .filter(attendances::member_id.eq(member_id))
        .select(AttendanceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Records a check-in or check-out. A member checks in once and out once per activity; the
/// UNIQUE (activity, member) constraint and the conditional check-out update keep it so when
/// the same member's scans race.
pub fn record_scan(conn: &mut Db, scan: &Scan<'_>) -> ServiceResult<AttendanceRow> {
    let activity = scan.activity;
    if crate::db::members::bank_of(conn, scan.member_id)? != activity.bank_id {
        return Err(ServiceError::NotFound("member in this activity's bank"));
    }
    require_active_member(conn, scan.member_id).map_err(|err| match err {
        ServiceError::Conflict { .. } | ServiceError::NotFound(_) => {
            ScanRefusal::MemberInactive.into()
        }
        other => other,
    })?;
    match scan.purpose {
        Purpose::CheckIn => {
            if find(conn, activity.id, scan.member_id)?.is_some() {
                return Err(ScanRefusal::AlreadyCheckedIn.into());
            }
            if activity.signup_required && !is_confirmed(conn, activity.id, scan.member_id)? {
                return Err(ScanRefusal::NotSignedUp.into());
            }
            let inserted = diesel::insert_into(attendances::table)
                .values((
                    attendances::bank_id.eq(activity.bank_id),
                    attendances::activity_id.eq(activity.id),
                    attendances::member_id.eq(scan.member_id),
                    attendances::checkin_at.eq(scan.at),
                    attendances::checkin_method.eq(scan.method),
                    attendances::recorded_by.eq(scan.recorded_by),
                ))
                .returning(attendances::all_columns)
                .get_result(conn);
            match inserted {
                Ok(row) => Ok(row),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Err(ScanRefusal::AlreadyCheckedIn.into()),
                Err(other) => Err(other.into()),
            }
        }
        Purpose::CheckOut => {
            let updated = diesel::update(
                attendances::table
                    .filter(attendances::activity_id.eq(activity.id))
                    .filter(attendances::member_id.eq(scan.member_id))
                    .filter(attendances::checkout_at.is_null())
                    .filter(attendances::settled_at.is_null()),
            )
            .set((
                attendances::checkout_at.eq(scan.at),
                attendances::checkout_method.eq(scan.method),
            ))
            .returning(attendances::all_columns)
            .get_result::<AttendanceRow>(conn)
            .optional()?;
            match updated {
                Some(row) => Ok(row),
                None => match find(conn, activity.id, scan.member_id)? {
                    None => Err(ScanRefusal::NotCheckedIn.into()),
                    Some(_) => Err(ScanRefusal::AlreadyCheckedOut.into()),
                },
            }
        }
    }
}

/// The attendance list with member names, by check-in time.
pub fn list_attendance(
    conn: &mut Db,
    activity_id: i64,
) -> ServiceResult<Vec<(AttendanceRow, String)>> {
    Ok(attendances::table
        .inner_join(members::table)
        .filter(attendances::activity_id.eq(activity_id))
        .order((attendances::checkin_at, attendances::id))
        .select((AttendanceRow::as_select(), members::name))
        .load(conn)?)
}

/// An organiser's correction of check-in/check-out times, before settlement.
pub fn correct(
    conn: &mut Db,
    activity_id: i64,
    member_id: i64,
    checkin_at: Option<i64>,
    checkout_at: Option<i64>,
    corrected_by: &str,
    reason: &str,
) -> ServiceResult<(AttendanceRow, AttendanceRow)> {
    let before = find(conn, activity_id, member_id)?.ok_or(ServiceError::NotFound("attendance"))?;
    if before.settled_at.is_some() {
        return Err(ServiceError::conflict(
            ConflictCode::AlreadySettled,
            "this attendance was already paid; reverse its entry and award again instead",
        ));
    }
    let new_in = checkin_at.unwrap_or(before.checkin_at);
    let new_out = checkout_at.or(before.checkout_at);
    if new_out.is_some_and(|out| out < new_in) {
        return Err(ServiceError::validation(
            "checkout_at",
            "must not be before the check-in",
        ));
    }
    let after = diesel::update(attendances::table.find(before.id))
        .set((
            attendances::checkin_at.eq(new_in),
            attendances::checkout_at.eq(new_out),
            attendances::checkout_method.eq(if checkout_at.is_some() {
                Some("correction".to_string())
            } else {
                before.checkout_method.clone()
            }),
            attendances::corrected_by.eq(corrected_by),
            attendances::correction_reason.eq(reason),
        ))
        .returning(attendances::all_columns)
        .get_result(conn)?;
    Ok((before, after))
}
