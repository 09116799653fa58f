//! Volunteers' WeChat identities: signing in with an openid WeChat vouched for, binding it to a
//! member record once, and undoing the binding (by the member, or by an org admin for a lost
//! phone). Undoing it ends every session of the member.

use crate::clock::rfc3339;
use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::access::refresh_sessions::{self, Holder, IssuedRefresh};
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;
use crate::wechat::WechatSession;

/// A member's new session: the binding it stands on and its refresh token.
#[derive(Debug)]
pub struct MemberSignIn {
    pub member_id: i64,
    /// When the WeChat binding was made: the access token names it, so undoing the binding
    /// retires every token at once.
    pub bound_at: i64,
    pub refresh: IssuedRefresh,
}

#[derive(Debug)]
pub enum WechatSignIn {
    SignedIn(MemberSignIn),
    /// Not bound yet: the single-use ticket that `bind` exchanges for a binding.
    BindingRequired {
        ticket: String,
    },
}

fn open_session(
    conn: &mut db::Db,
    member_id: i64,
    bound_at: i64,
    now: i64,
    ttl: i64,
) -> ServiceResult<MemberSignIn> {
    let holder = Holder::Member {
        member_id,
        binding: bound_at,
    };
    let refresh = refresh_sessions::issue(conn, holder, None, now, ttl)?;
    Ok(MemberSignIn {
        member_id,
        bound_at,
        refresh,
    })
}

/// Signs in the WeChat user WeChat vouched for (`jscode2session`), or hands out a binding ticket.
pub fn sign_in(
    store: &Store,
    session: &WechatSession,
    session_ttl: i64,
) -> ServiceResult<WechatSignIn> {
    store.write(|conn| {
        let now = store.now();
        match db::access::wechat::binding_of_openid(conn, &session.openid)? {
            Some((member_id, bound_at)) => Ok(WechatSignIn::SignedIn(open_session(
                conn,
                member_id,
                bound_at,
                now,
                session_ttl,
            )?)),
            None => Ok(WechatSignIn::BindingRequired {
                ticket: db::access::wechat::issue_ticket(conn, session, now)?,
            }),
        }
    })
}

/// Binds the ticket's WeChat user to the active member with this phone and name, and signs in.
pub fn bind(
    store: &Store,
    ticket: &str,
    phone: &str,
    name: &str,
    session_ttl: i64,
) -> ServiceResult<MemberSignIn> {
    let (phone, name) = (phone.trim(), name.trim());
    store.write(|conn| {
        let now = store.now();
        let (member_id, bound_at) = db::access::wechat::bind(conn, ticket, phone, name, now)?;
        open_session(conn, member_id, bound_at, now, session_ttl)
    })
}

/// The member undoes their own binding.
pub fn unbind_mine(store: &Store, member_id: i64, audit: &AuditContext) -> ServiceResult<()> {
    unbind(store, None, member_id, audit)
}

/// An org admin undoes a member's binding (a lost or sold phone).
pub fn unbind_member(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    member_id: i64,
) -> ServiceResult<()> {
    unbind(store, Some(staff), member_id, audit)
}

fn unbind(
    store: &Store,
    staff: Option<&Staff>,
    member_id: i64,
    audit: &AuditContext,
) -> ServiceResult<()> {
    let guard = staff.map(|staff| staff.guard(Action::ManageMembers));
    store.write(|conn| {
        let (_, path) = db::members::get_member(conn, member_id)?;
        if let Some(guard) = &guard {
            guard.at(&path)?;
        }
        let bound_at = db::access::wechat::unbind(conn, member_id, store.now())?;
        audit::changed(
            conn,
            audit,
            "member.wechat_unbind",
            format!("member:{member_id}"),
            &path,
            &serde_json::json!({"wechat_bound": true, "bound_at": rfc3339(bound_at)}),
            &serde_json::json!({"wechat_bound": false}),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::service::testing::Village;

    const TTL: i64 = 86_400 * 1_000_000;

    fn session(openid: &str) -> WechatSession {
        WechatSession {
            openid: openid.into(),
            unionid: None,
        }
    }

    fn resident_with_phone(village: &Village) -> i64 {
        let now = village.store.now();
        let new = || db::members::NewMember {
            org_id: village.org.id,
            name: "王秀英",
            phone: Some("13812341234"),
            id_card: None,
            household: None,
            tags: "",
            allow_proxy: true,
        };
        let created = village
            .store
            .write(|c| db::members::create_member(c, new(), now));
        created.expect("member").0.id
    }

    fn ticket_for(village: &Village, openid: &str) -> String {
        match sign_in(&village.store, &session(openid), TTL).expect("sign in") {
            WechatSignIn::BindingRequired { ticket } => ticket,
            WechatSignIn::SignedIn(signed) => panic!("already bound to {}", signed.member_id),
        }
    }

    #[test]
    fn a_stranger_binds_once_with_phone_and_name_and_then_signs_in_directly() {
        let village = Village::fresh();
        let member_id = resident_with_phone(&village);
        let ticket = ticket_for(&village, "o-wang");
        let bound = bind(&village.store, &ticket, " 13812341234 ", " 王秀英 ", TTL).expect("bound");
        assert_eq!(bound.member_id, member_id);
        match sign_in(&village.store, &session("o-wang"), TTL).expect("sign in") {
            WechatSignIn::SignedIn(signed) => assert_eq!(signed.member_id, member_id),
            WechatSignIn::BindingRequired { .. } => panic!("the binding was not kept"),
        }
    }

    #[test]
    fn a_ticket_binds_only_once() {
        let village = Village::fresh();
        resident_with_phone(&village);
        let ticket = ticket_for(&village, "o-wang");
        bind(&village.store, &ticket, "13812341234", "王秀英", TTL).expect("bound");
        let again = bind(&village.store, &ticket, "13812341234", "王秀英", TTL);
        assert_eq!(again.err().map(|e| e.code()), Some("unauthorized"));
    }

    #[test]
    fn a_wrong_name_binds_nobody() {
        let village = Village::fresh();
        resident_with_phone(&village);
        let ticket = ticket_for(&village, "o-wang");
        let refused = bind(&village.store, &ticket, "13812341234", "王秀", TTL);
        assert_eq!(refused.err().map(|e| e.code()), Some("binding_refused"));
        assert!(matches!(
            sign_in(&village.store, &session("o-wang"), TTL).expect("sign in"),
            WechatSignIn::BindingRequired { .. }
        ));
    }

    #[test]
    fn an_unbound_member_needs_a_new_binding_and_a_neighbouring_clerk_cannot_unbind() {
        let village = Village::fresh();
        let member_id = resident_with_phone(&village);
        let ticket = ticket_for(&village, "o-wang");
        bind(&village.store, &ticket, "13812341234", "王秀英", TTL).expect("bound");
        let stranger = village.neighbouring_clerk(7);
        let refused = unbind_member(
            &village.store,
            &stranger,
            &village.audit(&stranger),
            member_id,
        );
        assert_eq!(refused.err().map(|e| e.code()), Some("not_found"));
        let admin = village.staff(1, Role::OrgAdmin);
        unbind_member(&village.store, &admin, &village.audit(&admin), member_id).expect("unbound");
        assert_eq!(
            village.audited(&format!("member:{member_id}")),
            ["member.wechat_unbind"]
        );
        ticket_for(&village, "o-wang");
    }
}
