//! Refresh and sign-out, the same for every kind of session (see `db::access::refresh_sessions`).

use crate::db::access::refresh_sessions::{self, Holder, IssuedRefresh, Rotation, SessionKind};
use crate::error::{ServiceError, ServiceResult};
use crate::service::Store;

/// Spends a refresh token of `kind` for its successor. A reused token ends its whole session
/// family: that revocation is committed before the error goes back.
pub fn refresh(
    store: &Store,
    kind: SessionKind,
    token: &str,
    ttl_micros: i64,
) -> ServiceResult<(Holder, IssuedRefresh)> {
    let rotation =
        store.write(|conn| refresh_sessions::rotate(conn, kind, token, store.now(), ttl_micros))?;
    match rotation {
        Rotation::Rotated { holder, next } => Ok((holder, next)),
        Rotation::Reused => Err(ServiceError::RefreshTokenReused),
        Rotation::Invalid => Err(ServiceError::InvalidRefreshToken),
    }
}

/// Ends the session a refresh token of `kind` belongs to; unknown tokens are ignored.
pub fn sign_out(store: &Store, kind: SessionKind, token: &str) -> ServiceResult<()> {
    store.write(|conn| refresh_sessions::sign_out(conn, kind, token, store.now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::Village;

    const DAY: i64 = 86_400_000_000;

    /// A sign-in of a new staff member with the phone number `phone`.
    fn staff_session(village: &Village, phone: &str) -> IssuedRefresh {
        let now = village.store.now();
        let staff_id = village
            .store
            .write(|c| {
                crate::db::access::staff::create_staff(c, phone, "李会计", "x", "staff", now)
            })
            .unwrap()
            .id;
        village
            .store
            .write(|c| refresh_sessions::issue(c, Holder::Staff { staff_id }, None, now, DAY))
            .unwrap()
    }

    #[test]
    fn a_refresh_token_works_once_and_its_reuse_ends_the_whole_session() {
        let village = Village::fresh();
        let first = staff_session(&village, "13900000001");

        let (_, second) = refresh(&village.store, SessionKind::Staff, &first.token, DAY).unwrap();
        let reused = refresh(&village.store, SessionKind::Staff, &first.token, DAY).unwrap_err();

        assert_eq!(reused.code(), "refresh_token_reused");
        let ended = refresh(&village.store, SessionKind::Staff, &second.token, DAY).unwrap_err();
        assert_eq!(ended.code(), "invalid_refresh_token");
    }

    #[test]
    fn a_staff_token_is_no_member_token() {
        let village = Village::fresh();
        let session = staff_session(&village, "13900000001");
        let refused = refresh(&village.store, SessionKind::Member, &session.token, DAY);
        assert_eq!(refused.unwrap_err().code(), "invalid_refresh_token");
        sign_out(&village.store, SessionKind::Member, &session.token).unwrap();
        refresh(&village.store, SessionKind::Staff, &session.token, DAY).unwrap();
    }

    #[test]
    fn a_session_expires_by_the_service_clock_and_ends_at_sign_out() {
        let village = Village::fresh();
        let expiring = staff_session(&village, "13900000001");
        let signed_out = staff_session(&village, "13900000002");

        sign_out(&village.store, SessionKind::Staff, &signed_out.token).unwrap();
        village
            .clock
            .advance(std::time::Duration::from_secs(86_401));

        for token in [expiring.token, signed_out.token] {
            let refused = refresh(&village.store, SessionKind::Staff, &token, DAY);
            assert_eq!(refused.unwrap_err().code(), "invalid_refresh_token");
        }
    }
}
