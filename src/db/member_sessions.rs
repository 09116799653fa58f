//! Members' mini-program sessions: rotating refresh tokens like the staff's (`sessions.rs`), each
//! tied to the WeChat binding it was opened under, so undoing the binding ends the session.

use diesel::prelude::*;
use rand::RngCore;

use super::schema::member_refresh_tokens as tokens;
use super::sessions::{token_hash, IssuedRefresh};
use super::Db;
use crate::error::ServiceResult;

/// Issues a refresh token for the member's session under the binding made at `binding`, in
/// `family` (a new family for a fresh WeChat sign-in).
pub fn issue(
    conn: &mut Db,
    member_id: i64,
    binding: i64,
    family: Option<&str>,
    now: i64,
    ttl_micros: i64,
) -> ServiceResult<IssuedRefresh> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("mrt_{}", hex::encode(bytes));
    let family = family
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let expires_at = now + ttl_micros;
    diesel::insert_into(tokens::table)
        .values((
            tokens::member_id.eq(member_id),
            tokens::binding.eq(binding),
            tokens::family.eq(&family),
            tokens::token_hash.eq(token_hash(&token)),
            tokens::created_at.eq(now),
            tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(IssuedRefresh { token, expires_at })
}

pub enum MemberRotation {
    /// The token was current and its binding stands: here is its successor.
    Rotated {
        member_id: i64,
        binding: i64,
        next: IssuedRefresh,
    },
    /// The token had already been used: someone else may hold it. The whole family is revoked.
    Reused,
    /// Unknown, signed out, expired, or its WeChat binding was undone.
    Invalid,
}

/// Spends a member refresh token and issues the next one in its family. Always `Ok`, so that a
/// family revocation is committed even though the caller answers with an error.
pub fn rotate(
    conn: &mut Db,
    token: &str,
    now: i64,
    ttl_micros: i64,
) -> ServiceResult<MemberRotation> {
    type Row = (i64, i64, i64, String, i64, Option<i64>, Option<i64>);
    let row: Option<Row> = tokens::table
        .filter(tokens::token_hash.eq(token_hash(token)))
        .select((
            tokens::id,
            tokens::member_id,
            tokens::binding,
            tokens::family,
            tokens::expires_at,
            tokens::used_at,
            tokens::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, member_id, binding, family, expires_at, used_at, revoked_at)) = row else {
        return Ok(MemberRotation::Invalid);
    };
    if revoked_at.is_some() || expires_at <= now {
        return Ok(MemberRotation::Invalid);
    }
    if super::wechat::bound_at(conn, member_id)? != Some(binding) {
        revoke_family(conn, &family, now)?;
        return Ok(MemberRotation::Invalid);
    }
    let spent = used_at.is_none()
        && diesel::update(
            tokens::table
                .filter(tokens::id.eq(id))
                .filter(tokens::used_at.is_null())
                .filter(tokens::revoked_at.is_null()),
        )
        .set(tokens::used_at.eq(now))
        .execute(conn)?
            == 1;
    if !spent {
        revoke_family(conn, &family, now)?;
        return Ok(MemberRotation::Reused);
    }
    let next = issue(conn, member_id, binding, Some(&family), now, ttl_micros)?;
    Ok(MemberRotation::Rotated {
        member_id,
        binding,
        next,
    })
}

fn revoke_family(conn: &mut Db, family: &str, now: i64) -> ServiceResult<()> {
    diesel::update(
        tokens::table
            .filter(tokens::family.eq(family))
            .filter(tokens::revoked_at.is_null()),
    )
    .set(tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Signs out the session a member refresh token belongs to. Unknown tokens are ignored.
pub fn sign_out(conn: &mut Db, token: &str, now: i64) -> ServiceResult<()> {
    let family: Option<String> = tokens::table
        .filter(tokens::token_hash.eq(token_hash(token)))
        .select(tokens::family)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, &family, now)?;
    }
    Ok(())
}

/// Ends every session of a member (when their WeChat binding is undone).
pub fn revoke_member(conn: &mut Db, member_id: i64, now: i64) -> ServiceResult<()> {
    diesel::update(
        tokens::table
            .filter(tokens::member_id.eq(member_id))
            .filter(tokens::revoked_at.is_null()),
    )
    .set(tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}
