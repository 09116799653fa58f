//! Settlement: paying each attendance of an activity once, batch by batch.

use diesel::prelude::*;

use crate::db::activities::{lock_activity, ActivityRow};
use crate::db::rules::awards::{pay, Payment};
use crate::db::schema::attendances;
use crate::db::Db;
use crate::domain::activities::activity::StoredStatus;
use crate::domain::ledger::Origin;
use crate::error::{ConflictCode, ServiceError, ServiceResult};

use super::attendance::AttendanceRow;

/// Pays one attendance and marks it settled, conditionally on it not being settled yet.
pub(super) fn settle_one(
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
            memo: crate::db::rules::claims::truncate(&memo, crate::domain::ledger::MAX_MEMO_CHARS),
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
    let scans_closed = crate::domain::activities::activity::scan_window(
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
    crate::db::ledger::accounts::lock_member_wallets(conn, activity.bank_id, &members)?;
    for row in &batch {
        settle_one(conn, &activity, row, actor, now)?;
    }
    let remaining = unsettled(conn, activity_id)?;
    if remaining == 0 && status != StoredStatus::Settled {
        crate::db::activities::transition(
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
    use crate::db::schema::activities;
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
