//! WeChat openid ↔ member bindings and the one-time tickets that lead to them.

use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::schema::{members, wechat_bindings, wechat_tickets};
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};
use crate::wechat::WechatSession;

/// A binding ticket lives this long: enough to type a phone number.
pub const TICKET_SECONDS: i64 = 600;

fn hash(ticket: &str) -> String {
    hex::encode(Sha256::digest(ticket.as_bytes()))
}

pub fn member_of(conn: &mut Db, openid: &str) -> ServiceResult<Option<i64>> {
    Ok(binding_of_openid(conn, openid)?.map(|(member_id, _)| member_id))
}

/// The member a WeChat user is bound to, and when the binding was made.
pub fn binding_of_openid(conn: &mut Db, openid: &str) -> ServiceResult<Option<(i64, i64)>> {
    Ok(wechat_bindings::table
        .find(openid)
        .select((wechat_bindings::member_id, wechat_bindings::bound_at))
        .first(conn)
        .optional()?)
}

/// When the member's current WeChat binding was made (`None`: not bound).
pub fn bound_at(conn: &mut Db, member_id: i64) -> ServiceResult<Option<i64>> {
    Ok(wechat_bindings::table
        .filter(wechat_bindings::member_id.eq(member_id))
        .select(wechat_bindings::bound_at)
        .first(conn)
        .optional()?)
}

/// Undoes the member's WeChat binding (a lost phone, a wrong binding) and ends the member's
/// mini-program sessions. Returns when the binding had been made, or `not_found` when there was
/// none. The WeChat user's next sign-in asks for a binding again.
pub fn unbind(conn: &mut Db, member_id: i64, now: i64) -> ServiceResult<i64> {
    let bound_at = bound_at(conn, member_id)?.ok_or(ServiceError::NotFound("WeChat binding"))?;
    diesel::delete(wechat_bindings::table.filter(wechat_bindings::member_id.eq(member_id)))
        .execute(conn)?;
    crate::db::access::refresh_sessions::revoke_all_of_member(conn, member_id, now)?;
    Ok(bound_at)
}

pub fn issue_ticket(conn: &mut Db, session: &WechatSession, now: i64) -> ServiceResult<String> {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    let ticket = format!("wt_{}", hex::encode(bytes));
    diesel::insert_into(wechat_tickets::table)
        .values((
            wechat_tickets::ticket_hash.eq(hash(&ticket)),
            wechat_tickets::openid.eq(&session.openid),
            wechat_tickets::unionid.eq(&session.unionid),
            wechat_tickets::expires_at.eq(now + TICKET_SECONDS * 1_000_000),
        ))
        .execute(conn)?;
    Ok(ticket)
}

/// Binds the ticket's openid to the member with this phone and name. The ticket works once.
/// Returns the member and the binding's time (`now`).
pub fn bind(
    conn: &mut Db,
    ticket: &str,
    phone: &str,
    name: &str,
    now: i64,
) -> ServiceResult<(i64, i64)> {
    let found: Option<(String, Option<String>)> = wechat_tickets::table
        .find(hash(ticket))
        .filter(wechat_tickets::used_at.is_null())
        .filter(wechat_tickets::expires_at.gt(now))
        .select((wechat_tickets::openid, wechat_tickets::unionid))
        .first(conn)
        .optional()?;
    let (openid, unionid) = found.ok_or(ServiceError::Unauthorized(
        "the binding ticket is unknown, used or expired; sign in again",
    ))?;
    let member_id: i64 = members::table
        .filter(members::phone.eq(phone))
        .filter(members::name.eq(name))
        .filter(members::status.eq("active"))
        .select(members::id)
        .first(conn)
        .optional()?
        .ok_or(ServiceError::BindingRefused)?;
    if member_of(conn, &openid)?.is_some() || is_bound(conn, member_id)? {
        return Err(ServiceError::AlreadyExists(
            "a WeChat binding for this member or this WeChat user",
        ));
    }
    diesel::update(wechat_tickets::table.find(hash(ticket)))
        .set(wechat_tickets::used_at.eq(now))
        .execute(conn)?;
    diesel::insert_into(wechat_bindings::table)
        .values((
            wechat_bindings::openid.eq(&openid),
            wechat_bindings::unionid.eq(&unionid),
            wechat_bindings::member_id.eq(member_id),
            wechat_bindings::bound_at.eq(now),
        ))
        .execute(conn)?;
    Ok((member_id, now))
}

pub fn is_bound(conn: &mut Db, member_id: i64) -> ServiceResult<bool> {
    Ok(wechat_bindings::table
        .filter(wechat_bindings::member_id.eq(member_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// After a merge, the WeChat user of the merged record signs in as the surviving member, unless
/// that member already has a WeChat user of its own.
pub fn follow_merge(conn: &mut Db, source: i64, target: i64) -> ServiceResult<()> {
    if !is_bound(conn, target)? {
        diesel::update(wechat_bindings::table.filter(wechat_bindings::member_id.eq(source)))
            .set(wechat_bindings::member_id.eq(target))
            .execute(conn)?;
    }
    Ok(())
}
