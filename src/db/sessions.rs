//! Sign-in sessions: rotating refresh tokens and failed-sign-in counters (both in the database,
//! so they hold across restarts and several instances).

use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::schema::{login_failures, refresh_tokens, staff};
use super::Db;
use crate::error::{ServiceError, ServiceResult};

pub struct IssuedRefresh {
    pub token: String,
    pub expires_at: i64,
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a refresh token in `family` (a new family for a fresh sign-in).
pub fn issue_refresh(
    conn: &mut Db,
    staff_id: i64,
    family: Option<&str>,
    now: i64,
    ttl_micros: i64,
) -> ServiceResult<IssuedRefresh> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("rt_{}", hex::encode(bytes));
    let family = family
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let expires_at = now + ttl_micros;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::staff_id.eq(staff_id),
            refresh_tokens::family.eq(&family),
            refresh_tokens::token_hash.eq(token_hash(&token)),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(IssuedRefresh { token, expires_at })
}

#[derive(Queryable)]
struct TokenState {
    id: i64,
    staff_id: i64,
    family: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    active: bool,
}

pub enum Rotation {
    /// The token was current: here is its successor.
    Rotated { staff_id: i64, next: IssuedRefresh },
    /// The token had already been used: someone else may hold it. The whole family is revoked.
    Reused,
    /// Unknown, revoked (signed out) or expired.
    Invalid,
}

/// Spends a refresh token and issues the next one in its family. Always returns `Ok` so that a
/// family revocation on reuse is committed even though the caller answers with an error.
pub fn rotate(conn: &mut Db, token: &str, now: i64, ttl_micros: i64) -> ServiceResult<Rotation> {
    let row: Option<TokenState> = refresh_tokens::table
        .inner_join(staff::table)
        .filter(refresh_tokens::token_hash.eq(token_hash(token)))
        .select((
            refresh_tokens::id,
            refresh_tokens::staff_id,
            refresh_tokens::family,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            refresh_tokens::revoked_at,
            staff::active,
        ))
        .first(conn)
        .optional()?;
    let Some(TokenState {
        id,
        staff_id,
        family,
        expires_at,
        used_at,
        revoked_at,
        active,
    }) = row
    else {
        return Ok(Rotation::Invalid);
    };
    if revoked_at.is_some() || expires_at <= now || !active {
        return Ok(Rotation::Invalid);
    }
    let spent = used_at.is_none()
        && diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::id.eq(id))
                .filter(refresh_tokens::used_at.is_null())
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(now))
        .execute(conn)?
            == 1;
    if !spent {
        revoke_family(conn, &family, now)?;
        return Ok(Rotation::Reused);
    }
    let next = issue_refresh(conn, staff_id, Some(&family), now, ttl_micros)?;
    Ok(Rotation::Rotated { staff_id, next })
}

pub fn revoke_family(conn: &mut Db, family: &str, now: i64) -> ServiceResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Signs out the session a refresh token belongs to. Unknown tokens are ignored.
pub fn sign_out(conn: &mut Db, token: &str, now: i64) -> ServiceResult<()> {
    let family: Option<String> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash(token)))
        .select(refresh_tokens::family)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, &family, now)?;
    }
    Ok(())
}

/// Ends every session of a staff member (after a password change).
pub fn revoke_all(conn: &mut Db, staff_id: i64, now: i64) -> ServiceResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::staff_id.eq(staff_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

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
