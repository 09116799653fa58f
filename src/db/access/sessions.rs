//! Staff sign-in: failed-sign-in counters (in the database, so they hold across restarts and
//! several instances) and passwords. The sessions themselves are in `refresh_sessions`.

use diesel::prelude::*;

use crate::db::schema::{login_failures, staff};
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};

/// A rate-limited subject of sign-in attempts (`phone:…`, `ip:…`) and its limit per window.
pub struct AttemptLimit<'a> {
    pub subject: &'a str,
    pub max_failures: i64,
}

/// Claims one sign-in attempt for every subject, in one atomic step, *before* the password is
/// checked: an attempt counts as a failure until the caller forgives it after a success. Counting
/// and claiming under one lock per subject (advisory on PostgreSQL; the single writer on SQLite)
/// is what keeps the limit under concurrent attempts and across instances. Refuses with
/// `too_many_attempts` when a subject already used up its window. Runs in the caller's write
/// transaction, which must commit before the password is checked.
pub fn claim_attempt(
    conn: &mut Db,
    limits: &[AttemptLimit<'_>],
    now: i64,
    window_micros: i64,
) -> ServiceResult<Vec<i64>> {
    if let Db::Pg(pg) = conn {
        let mut subjects: Vec<&str> = limits.iter().map(|limit| limit.subject).collect();
        subjects.sort_unstable();
        for subject in subjects {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(subject)
                .execute(pg)?;
        }
    }
    let mut claimed = Vec::with_capacity(limits.len());
    for limit in limits {
        let (failures, oldest) = failures_since(conn, limit.subject, now - window_micros)?;
        if failures >= limit.max_failures {
            let wait = (oldest.unwrap_or(now) + window_micros - now).max(1_000_000);
            return Err(ServiceError::TooManyAttempts {
                retry_after: (wait / 1_000_000) as u64,
            });
        }
        claimed.push(
            diesel::insert_into(login_failures::table)
                .values((
                    login_failures::subject.eq(limit.subject),
                    login_failures::at.eq(now),
                ))
                .returning(login_failures::id)
                .get_result(conn)?,
        );
    }
    Ok(claimed)
}

/// Takes back the attempts of a sign-in that succeeded.
pub fn forgive_attempts(conn: &mut Db, attempt_ids: &[i64]) -> ServiceResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::id.eq_any(attempt_ids)))
        .execute(conn)?;
    Ok(())
}

/// How many failures `subject` had since `since`, and when the oldest of them was.
fn failures_since(conn: &mut Db, subject: &str, since: i64) -> ServiceResult<(i64, Option<i64>)> {
    let times: Vec<i64> = login_failures::table
        .filter(login_failures::subject.eq(subject))
        .filter(login_failures::at.ge(since))
        .order(login_failures::at)
        .select(login_failures::at)
        .load(conn)?;
    Ok((times.len() as i64, times.first().copied()))
}

pub fn clear_failures(conn: &mut Db, subject: &str) -> ServiceResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::subject.eq(subject)))
        .execute(conn)?;
    Ok(())
}

pub fn purge_failures_before(conn: &mut Db, cutoff: i64) -> ServiceResult<usize> {
    Ok(
        diesel::delete(login_failures::table.filter(login_failures::at.lt(cutoff)))
            .execute(conn)?,
    )
}

pub fn set_password(conn: &mut Db, staff_id: i64, password_hash: &str) -> ServiceResult<()> {
    diesel::update(staff::table.find(staff_id))
        .set(staff::password_hash.eq(password_hash))
        .execute(conn)?;
    Ok(())
}
