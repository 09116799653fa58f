//! Refresh sessions of every kind (staff, mini-program members, later the console) in one table
//! with one logic: a rotating refresh token per use, one family per sign-in, the whole family
//! revoked when a spent token comes back (someone else may hold it), and a session ends as soon
//! as its holder may no longer sign in (a deactivated staff member, an undone WeChat binding).

use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::schema::{refresh_sessions as sessions, staff};
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};

/// Whose session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A staff member signed in with their password.
    Staff { staff_id: i64 },
    /// A member signed in from the mini-program, under the WeChat binding made at `binding`.
    Member { member_id: i64, binding: i64 },
}

/// Which kind of session an endpoint takes: a member's token is no staff token, and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Staff,
    Member,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Staff => "staff",
            SessionKind::Member => "member",
        }
    }

    /// Tokens say what they are for, so a misplaced one is recognisable in a support chat.
    fn token_prefix(self) -> &'static str {
        match self {
            SessionKind::Staff => "rt_",
            SessionKind::Member => "mrt_",
        }
    }
}

impl Holder {
    pub fn kind(&self) -> SessionKind {
        match self {
            Holder::Staff { .. } => SessionKind::Staff,
            Holder::Member { .. } => SessionKind::Member,
        }
    }
}

pub struct IssuedRefresh {
    pub token: String,
    pub expires_at: i64,
}

/// Never prints the token itself: it is a credential.
impl std::fmt::Debug for IssuedRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedRefresh")
            .field("token", &"…")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a refresh token for `holder` in `family` (a new family for a fresh sign-in).
pub fn issue(
    conn: &mut Db,
    holder: Holder,
    family: Option<&str>,
    now: i64,
    ttl_micros: i64,
) -> ServiceResult<IssuedRefresh> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("{}{}", holder.kind().token_prefix(), hex::encode(bytes));
    let family = family
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let expires_at = now + ttl_micros;
    let (staff_id, member_id, binding) = match holder {
        Holder::Staff { staff_id } => (Some(staff_id), None, None),
        Holder::Member { member_id, binding } => (None, Some(member_id), Some(binding)),
    };
    diesel::insert_into(sessions::table)
        .values((
            sessions::kind.eq(holder.kind().as_str()),
            sessions::staff_id.eq(staff_id),
            sessions::member_id.eq(member_id),
            sessions::binding.eq(binding),
            sessions::family.eq(&family),
            sessions::token_hash.eq(token_hash(&token)),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(IssuedRefresh { token, expires_at })
}

pub enum Rotation {
    /// The token was current and its holder may still sign in: here is its successor.
    Rotated { holder: Holder, next: IssuedRefresh },
    /// The token had already been used: someone else may hold it. The whole family is revoked.
    Reused,
    /// Unknown, of another kind, signed out, expired, or its holder may no longer sign in.
    Invalid,
}

#[derive(Queryable)]
struct SessionState {
    id: i64,
    staff_id: Option<i64>,
    member_id: Option<i64>,
    binding: Option<i64>,
    family: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// Spends a refresh token of `kind` and issues the next one in its family. Always `Ok`, so that
/// a family revocation is committed even though the caller answers with an error.
pub fn rotate(
    conn: &mut Db,
    kind: SessionKind,
    token: &str,
    now: i64,
    ttl_micros: i64,
) -> ServiceResult<Rotation> {
    let row: Option<SessionState> = sessions::table
        .filter(sessions::token_hash.eq(token_hash(token)))
        .filter(sessions::kind.eq(kind.as_str()))
        .select((
            sessions::id,
            sessions::staff_id,
            sessions::member_id,
            sessions::binding,
            sessions::family,
            sessions::expires_at,
            sessions::used_at,
            sessions::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some(state) = row else {
        return Ok(Rotation::Invalid);
    };
    if state.revoked_at.is_some() || state.expires_at <= now {
        return Ok(Rotation::Invalid);
    }
    let holder = holder_of(kind, &state)?;
    if !may_still_sign_in(conn, holder)? {
        revoke_family(conn, &state.family, now)?;
        return Ok(Rotation::Invalid);
    }
    let spent = state.used_at.is_none()
        && diesel::update(
            sessions::table
                .filter(sessions::id.eq(state.id))
                .filter(sessions::used_at.is_null())
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::used_at.eq(now))
        .execute(conn)?
            == 1;
    if !spent {
        revoke_family(conn, &state.family, now)?;
        return Ok(Rotation::Reused);
    }
    let next = issue(conn, holder, Some(&state.family), now, ttl_micros)?;
    Ok(Rotation::Rotated { holder, next })
}

fn holder_of(kind: SessionKind, state: &SessionState) -> ServiceResult<Holder> {
    let holder = match (kind, state.staff_id, state.member_id, state.binding) {
        (SessionKind::Staff, Some(staff_id), None, None) => Holder::Staff { staff_id },
        (SessionKind::Member, None, Some(member_id), Some(binding)) => {
            Holder::Member { member_id, binding }
        }
        // The table's CHECK constraint rules this out: the row was edited by hand.
        _ => {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "refresh session {} does not match its kind",
                state.id
            )))
        }
    };
    Ok(holder)
}

/// A deactivated staff member, or a member whose WeChat binding was undone or replaced, keeps
/// no session.
fn may_still_sign_in(conn: &mut Db, holder: Holder) -> ServiceResult<bool> {
    Ok(match holder {
        Holder::Staff { staff_id } => staff::table
            .find(staff_id)
            .select(staff::active)
            .first::<bool>(conn)
            .optional()?
            .unwrap_or(false),
        Holder::Member { member_id, binding } => {
            crate::db::access::wechat::bound_at(conn, member_id)? == Some(binding)
        }
    })
}

fn revoke_family(conn: &mut Db, family: &str, now: i64) -> ServiceResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::family.eq(family))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Signs out the session a refresh token of `kind` belongs to. Unknown tokens are ignored.
pub fn sign_out(conn: &mut Db, kind: SessionKind, token: &str, now: i64) -> ServiceResult<()> {
    let family: Option<String> = sessions::table
        .filter(sessions::token_hash.eq(token_hash(token)))
        .filter(sessions::kind.eq(kind.as_str()))
        .select(sessions::family)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, &family, now)?;
    }
    Ok(())
}

/// Ends every session of a staff member (after a password change).
pub fn revoke_all_of_staff(conn: &mut Db, staff_id: i64, now: i64) -> ServiceResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::staff_id.eq(staff_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Ends every session of a member (when their WeChat binding is undone).
pub fn revoke_all_of_member(conn: &mut Db, member_id: i64, now: i64) -> ServiceResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::member_id.eq(member_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}
