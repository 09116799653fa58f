//! Attendance from scans, refused scans and their appeals, and settlement into award entries.

use diesel::prelude::*;

use super::activities::{is_confirmed, lock_activity, ActivityRow};
use super::awards::{pay, require_active_member, Payment};
use super::schema::{attendances, members, refused_scans};
use super::Db;
use crate::domain::activity::{Purpose, StoredStatus};
use crate::domain::checkin::ScanRefusal;
use crate::domain::ledger::Origin;
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

fn find(conn: &mut Db, activity_id: i64, member_id: i64) -> ServiceResult<Option<AttendanceRow>> {
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
    if super::members::bank_of(conn, scan.member_id)? != activity.bank_id {
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

/// Pays one attendance and marks it settled, conditionally on it not being settled yet.
fn settle_one(
    conn: &mut Db,
    activity: &ActivityRow,
    row: &AttendanceRow,
    actor: &str,
    now: i64,
) -> ServiceResult<()> {
    let payout = activity.terms()?.payout(row.checkin_at, row.checkout_at);
    let memo = format!("志愿活动: {}", activity.title);
    let reference = format!("activity:{}", activity.id);
    let record = pay(
        conn,
        &Payment {
            bank_id: activity.bank_id,
            member_id: row.member_id,
            rule_id: activity.rule_id,
            origin: if row.checkin_method == "appeal" {
                Origin::Appeal
            } else {
                Origin::Checkin
            },
            points: payout.points,
            hours: payout.hours,
            memo: super::claims::truncate(&memo, crate::domain::ledger::MAX_MEMO_CHARS),
            reference: Some(&reference),
            actor,
        },
        now,
    )?;
    let updated = diesel::update(
        attendances::table
            .filter(attendances::id.eq(row.id))
            .filter(attendances::settled_at.is_null()),
    )
    .set((
        attendances::settled_at.eq(now),
        attendances::settled_entry_id.eq(record.as_ref().map(|r| r.entry.id)),
        attendances::points.eq(payout.points),
        attendances::hours.eq(payout.hours),
        attendances::checkout_missing.eq(payout.checkout_missing),
    ))
    .execute(conn)?;
    // The activity row is locked by every settler, so nobody can have settled it meanwhile;
    // if it happened anyway, rolling back is the only safe answer.
    if updated != 1 {
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "attendance {} settled twice",
            row.id
        )));
    }
    Ok(())
}

/// How many attendances one settlement transaction pays: short transactions, so scans and
/// other writers are not held up behind a large activity.
pub const SETTLE_BATCH: i64 = 50;

/// Settles up to `SETTLE_BATCH` unsettled attendances in the caller's transaction and, once none
/// are left, marks the activity settled. Returns how many remain. Run it until it returns 0: a
/// crash between batches leaves only whole batches paid, and the next run pays the rest.
pub fn settle_batch(conn: &mut Db, activity_id: i64, actor: &str, now: i64) -> ServiceResult<i64> {
    let activity = lock_activity(conn, activity_id)?;
    let status = activity.stored_status()?;
    let scans_closed = crate::domain::activity::scan_window(
        activity.starts_at,
        activity.ends_at,
        activity.grace_minutes,
    )
    .1;
    match status {
        StoredStatus::Published | StoredStatus::Settled if now > scans_closed => {}
        StoredStatus::Published => {
            return Err(ServiceError::conflict(
                ConflictCode::NotFinished,
                "an activity is settled after it ends and its check-out grace period has passed",
            ))
        }
        other => {
            return Err(ServiceError::conflict(
                ConflictCode::InvalidTransition,
                format!("activity {activity_id} is {other}; it cannot be settled"),
            ))
        }
    }
    let batch: Vec<AttendanceRow> = attendances::table
        .filter(attendances::activity_id.eq(activity_id))
        .filter(attendances::settled_at.is_null())
        .order(attendances::member_id)
        .limit(SETTLE_BATCH)
        .select(AttendanceRow::as_select())
        .load(conn)?;
    let members: Vec<i64> = batch.iter().map(|row| row.member_id).collect();
    super::accounts::lock_member_wallets(conn, activity.bank_id, &members)?;
    for row in &batch {
        settle_one(conn, &activity, row, actor, now)?;
    }
    let remaining = unsettled(conn, activity_id)?;
    if remaining == 0 && status != StoredStatus::Settled {
        super::activities::transition(
            conn,
            activity_id,
            &[StoredStatus::Published],
            StoredStatus::Settled,
            now,
        )?;
    }
    Ok(remaining)
}

fn unsettled(conn: &mut Db, activity_id: i64) -> ServiceResult<i64> {
    Ok(attendances::table
        .filter(attendances::activity_id.eq(activity_id))
        .filter(attendances::settled_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Activities whose scans closed before `now` and that are not settled yet (for the worker).
pub fn due_for_settlement(conn: &mut Db, now: i64) -> ServiceResult<Vec<i64>> {
    use super::schema::activities;
    let candidates: Vec<(i64, i64, i64)> = activities::table
        .filter(activities::status.eq(StoredStatus::Published.as_str()))
        .filter(activities::ends_at.lt(now))
        .select((
            activities::id,
            activities::ends_at,
            activities::grace_minutes,
        ))
        .load(conn)?;
    Ok(candidates
        .into_iter()
        .filter(|(_, ends_at, grace)| now > ends_at + grace * 60_000_000)
        .map(|(id, ..)| id)
        .collect())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = refused_scans)]
pub struct RefusedScanRow {
    pub id: i64,
    pub bank_id: Option<i64>,
    pub activity_id: Option<i64>,
    pub member_id: i64,
    pub purpose: Option<String>,
    pub token: String,
    pub reason: String,
    pub latitude_e6: Option<i64>,
    pub longitude_e6: Option<i64>,
    pub created_at: i64,
    pub appeal_status: Option<String>,
    pub appeal_reason: Option<String>,
    pub appealed_at: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
}

pub struct Refusal<'a> {
    pub activity: Option<&'a ActivityRow>,
    pub member_id: i64,
    pub purpose: Option<Purpose>,
    pub token: &'a str,
    pub reason: &'a str,
    pub location: Option<(i64, i64)>,
}

/// How many refused scans of one member are logged per minute: enough for every honest mistake
/// and fraud signal, while a script hammering forged codes cannot flood the table.
pub const MAX_LOGGED_REFUSALS_PER_MINUTE: i64 = 30;

/// Logs a refused scan (in its own transaction: the refusal itself wrote nothing). Returns
/// `None` when the member already reached the per-minute logging limit.
pub fn log_refusal(
    conn: &mut Db,
    refusal: &Refusal<'_>,
    now: i64,
) -> ServiceResult<Option<RefusedScanRow>> {
    let recent: i64 = refused_scans::table
        .filter(refused_scans::member_id.eq(refusal.member_id))
        .filter(refused_scans::created_at.gt(now - 60_000_000))
        .count()
        .get_result(conn)?;
    if recent >= MAX_LOGGED_REFUSALS_PER_MINUTE {
        return Ok(None);
    }
    let token =
        super::claims::truncate(refusal.token, crate::domain::checkin_token::MAX_TOKEN_CHARS);
    Ok(Some(
        diesel::insert_into(refused_scans::table)
            .values((
                refused_scans::bank_id.eq(refusal.activity.map(|a| a.bank_id)),
                refused_scans::activity_id.eq(refusal.activity.map(|a| a.id)),
                refused_scans::member_id.eq(refusal.member_id),
                refused_scans::purpose.eq(refusal.purpose.map(Purpose::as_str)),
                refused_scans::token.eq(token),
                refused_scans::reason.eq(refusal.reason),
                refused_scans::latitude_e6.eq(refusal.location.map(|l| l.0)),
                refused_scans::longitude_e6.eq(refusal.location.map(|l| l.1)),
                refused_scans::created_at.eq(now),
            ))
            .returning(refused_scans::all_columns)
            .get_result(conn)?,
    ))
}

pub fn refused_for_activity(conn: &mut Db, activity_id: i64) -> ServiceResult<Vec<RefusedScanRow>> {
    Ok(refused_scans::table
        .filter(refused_scans::activity_id.eq(activity_id))
        .order(refused_scans::id.desc())
        .limit(1000)
        .select(RefusedScanRow::as_select())
        .load(conn)?)
}

pub fn refused_for_member(conn: &mut Db, member_id: i64) -> ServiceResult<Vec<RefusedScanRow>> {
    Ok(refused_scans::table
        .filter(refused_scans::member_id.eq(member_id))
        .order(refused_scans::id.desc())
        .limit(200)
        .select(RefusedScanRow::as_select())
        .load(conn)?)
}

fn get_refusal(conn: &mut Db, refusal_id: i64) -> ServiceResult<RefusedScanRow> {
    refused_scans::table
        .find(refusal_id)
        .select(RefusedScanRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("refused scan"))
}

/// A member appeals their own refused scan within the appeal window.
pub fn appeal(
    conn: &mut Db,
    member_id: i64,
    refusal_id: i64,
    reason: &str,
    window_micros: i64,
    now: i64,
) -> ServiceResult<RefusedScanRow> {
    let refusal = get_refusal(conn, refusal_id)?;
    if refusal.member_id != member_id {
        return Err(ServiceError::NotFound("refused scan"));
    }
    if refusal.activity_id.is_none() || refusal.purpose.is_none() {
        return Err(ServiceError::conflict(
            ConflictCode::AppealNotAllowed,
            "this scan was not of a code of ours, so there is no activity to appeal for",
        ));
    }
    if now - refusal.created_at > window_micros {
        return Err(ServiceError::conflict(
            ConflictCode::AppealNotAllowed,
            "the appeal window for this scan has closed",
        ));
    }
    let updated = diesel::update(
        refused_scans::table
            .filter(refused_scans::id.eq(refusal_id))
            .filter(refused_scans::appeal_status.is_null()),
    )
    .set((
        refused_scans::appeal_status.eq("pending"),
        refused_scans::appeal_reason.eq(reason),
        refused_scans::appealed_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ServiceError::conflict(
            ConflictCode::AppealNotAllowed,
            "this scan was already appealed",
        ));
    }
    get_refusal(conn, refusal_id)
}

/// An organiser decides a pending appeal. Approval records the scan as it should have been
/// (at the time of the refused scan, method `appeal`) and, if the activity was already settled,
/// pays it at once, so an approved appeal ends in the same entries as a good scan.
pub fn decide_appeal(
    conn: &mut Db,
    activity_id: i64,
    refusal_id: i64,
    approve: bool,
    decided_by: &str,
    note: Option<&str>,
    now: i64,
) -> ServiceResult<RefusedScanRow> {
    let refusal = get_refusal(conn, refusal_id)?;
    if refusal.activity_id != Some(activity_id) {
        return Err(ServiceError::NotFound("refused scan"));
    }
    let updated = diesel::update(
        refused_scans::table
            .filter(refused_scans::id.eq(refusal_id))
            .filter(refused_scans::appeal_status.eq("pending")),
    )
    .set((
        refused_scans::appeal_status.eq(if approve { "approved" } else { "rejected" }),
        refused_scans::decided_by.eq(decided_by),
        refused_scans::decided_at.eq(now),
        refused_scans::decision_note.eq(note),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ServiceError::conflict(
            ConflictCode::AppealNotPending,
            "this scan has no pending appeal",
        ));
    }
    if approve {
        let activity = lock_activity(conn, activity_id)?;
        let purpose = refusal
            .purpose
            .as_deref()
            .and_then(Purpose::parse)
            .ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!("appealed scan without purpose"))
            })?;
        let row = record_appealed_scan(
            conn,
            &activity,
            refusal.member_id,
            purpose,
            refusal.created_at,
            decided_by,
        )?;
        if activity.stored_status()? == StoredStatus::Settled && row.settled_at.is_none() {
            settle_one(conn, &activity, &row, decided_by, now)?;
        }
    }
    get_refusal(conn, refusal_id)
}

fn record_appealed_scan(
    conn: &mut Db,
    activity: &ActivityRow,
    member_id: i64,
    purpose: Purpose,
    at: i64,
    recorded_by: &str,
) -> ServiceResult<AttendanceRow> {
    // A settled attendance cannot take a late check-out; the appeal then changes nothing.
    if purpose == Purpose::CheckOut {
        if let Some(row) = find(conn, activity.id, member_id)? {
            if row.settled_at.is_some() {
                return Err(ServiceError::conflict(
                    ConflictCode::AlreadySettled,
                    "the attendance was already paid; correct it by reversing and awarding",
                ));
            }
        }
    }
    record_scan(
        conn,
        &Scan {
            activity,
            member_id,
            purpose,
            method: "appeal",
            at,
            recorded_by,
        },
    )
}
