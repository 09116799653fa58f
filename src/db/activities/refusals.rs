//! Refused scans, logged for review, and members' appeals against them.

use diesel::prelude::*;

use crate::db::activities::{lock_activity, ActivityRow};
use crate::db::schema::refused_scans;
use crate::db::Db;
use crate::domain::activities::activity::{Purpose, StoredStatus};
use crate::error::{ConflictCode, ServiceError, ServiceResult};

use super::attendance::{find, record_scan, AttendanceRow, Scan};
use super::settlement::settle_one;

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
    let token = crate::db::rules::claims::truncate(
        refusal.token,
        crate::domain::activities::checkin_token::MAX_TOKEN_CHARS,
    );
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
