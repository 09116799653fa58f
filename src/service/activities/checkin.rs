//! A scan at an activity: a member scanning the screen or poster QR code, or an organiser
//! scanning a member's card. Each is judged against the activity's window (and geofence) by the
//! service clock; a refused scan is logged, in a transaction of its own, for appeals and fraud
//! review.

use super::activity_in_scope;
use crate::db::activities::ActivityRow;
use crate::db::activities::{
    attendance::{AttendanceRow, Scan},
    refusals::Refusal,
};
use crate::db::{self, Db};
use crate::domain::access::Action;
use crate::domain::activities::activity::Purpose;
use crate::domain::activities::checkin::{judge_scan, judge_window, ScanRefusal};
use crate::domain::activities::checkin_token::{CheckinSigner, TokenKind};
use crate::domain::members::card::PresentedCard;
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::Store;

/// What a member's phone sent: the scanned code, the activity page it was scanned from (if
/// any) and the phone's position in micro-degrees (if it gave one).
#[derive(Debug, Clone)]
pub struct MemberScan {
    pub token: String,
    pub expected_activity: Option<i64>,
    pub location: Option<(i64, i64)>,
}

/// A recorded scan with its activity (and, for card scans, the member's name).
#[derive(Debug)]
pub struct Recorded {
    pub attendance: AttendanceRow,
    pub activity: ActivityRow,
    pub member_name: Option<String>,
}

/// A member checks in or out with a scanned code.
pub fn member_scan(
    store: &Store,
    signer: &CheckinSigner,
    member_id: i64,
    scan: &MemberScan,
) -> ServiceResult<Recorded> {
    let refused = |activity_id, purpose, refusal| {
        log_refusal(
            store,
            activity_id,
            member_id,
            purpose,
            &scan.token,
            refusal,
            scan.location,
        )
    };
    let token = match signer.verify(&scan.token) {
        Ok(token)
            if scan
                .expected_activity
                .is_none_or(|id| id == token.activity_id) =>
        {
            token
        }
        // A code of another activity, scanned from this activity's page.
        Ok(token) => {
            return Err(refused(
                scan.expected_activity,
                Some(token.purpose),
                ScanRefusal::TokenInvalid,
            ))
        }
        Err(_) => return Err(refused(None, None, ScanRefusal::TokenInvalid)),
    };
    let method = match token.kind {
        TokenKind::Dynamic => "dynamic_qr",
        TokenKind::Poster => "poster",
    };
    let recorded_by = format!("member:{member_id}");
    let result = store.write(|conn| {
        let now = store.now();
        let activity = db::activities::get_activity(conn, token.activity_id)?;
        judge_scan(&token, &activity.scan_target()?, now, scan.location)?;
        let scan = Scan {
            activity: &activity,
            member_id,
            purpose: token.purpose,
            method,
            at: now,
            recorded_by: &recorded_by,
        };
        let attendance = db::activities::attendance::record_scan(conn, &scan)?;
        Ok(Recorded {
            attendance,
            activity,
            member_name: None,
        })
    });
    match result {
        Err(ServiceError::Scan(refusal)) => Err(refused(
            Some(token.activity_id),
            Some(token.purpose),
            refusal,
        )),
        other => other,
    }
}

/// An organiser checks a member in or out by their card (its QR code or typed number): the same
/// window, once-only and sign-up rules as a member's scan, without a geofence.
pub fn card_scan(
    store: &Store,
    staff: &Staff,
    activity_id: i64,
    card: &PresentedCard,
    purpose: Purpose,
) -> ServiceResult<Recorded> {
    let guard = staff.guard(Action::RunActivities);
    let member_id = card.member_id;
    let result = store.write(|conn| {
        let now = store.now();
        let (activity, _) = activity_in_scope(conn, &guard, activity_id)?;
        let (member, _) = db::members::get_member(conn, member_id)?;
        card.check_current(member.card_version)?;
        judge_window(&activity.scan_target()?, now)?;
        let scan = Scan {
            activity: &activity,
            member_id,
            purpose,
            method: "card_scan",
            at: now,
            recorded_by: staff.actor(),
        };
        let attendance = db::activities::attendance::record_scan(conn, &scan)?;
        Ok(Recorded {
            attendance,
            activity,
            member_name: Some(member.name),
        })
    });
    match result {
        Err(ServiceError::Scan(refusal)) => Err(log_refusal(
            store,
            Some(activity_id),
            member_id,
            Some(purpose),
            "card",
            refusal,
            None,
        )),
        other => other,
    }
}

/// Logs a refused scan in its own transaction and returns the refusal to send back. If the log
/// cannot be written, the refusal still goes back (and the failure is in the server log).
fn log_refusal(
    store: &Store,
    activity_id: Option<i64>,
    member_id: i64,
    purpose: Option<Purpose>,
    token: &str,
    refusal: ScanRefusal,
    location: Option<(i64, i64)>,
) -> ServiceError {
    let logged = store.write(|conn: &mut Db| {
        let activity = match activity_id {
            Some(id) => db::activities::get_activity(conn, id).ok(),
            None => None,
        };
        let refusal = Refusal {
            activity: activity.as_ref(),
            member_id,
            purpose,
            token,
            reason: refusal.code(),
            location,
        };
        db::activities::refusals::log_refusal(conn, &refusal, store.now())
    });
    if let Err(err) = logged {
        tracing::error!(error = %err, "could not log a refused scan");
    }
    ServiceError::Scan(refusal)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::access::Role;
    use crate::domain::activities::checkin_token::{time_step, CheckinToken};
    use crate::domain::members::card::card_number;
    use crate::service::testing::Village;

    const SECRET: &[u8] = b"a test secret for check-in tokens";
    const HOUR: Duration = Duration::from_secs(3600);

    /// The screen's code of the current 20-second step, as the QR endpoint shows it.
    fn screen_code(village: &Village, activity_id: i64, purpose: Purpose) -> String {
        CheckinSigner::new(SECRET).sign(CheckinToken {
            kind: TokenKind::Dynamic,
            purpose,
            activity_id,
            counter: time_step(village.store.now(), 20),
        })
    }

    fn scan(village: &Village, member: i64, token: String) -> ServiceResult<Recorded> {
        let scan = MemberScan {
            token,
            expected_activity: None,
            location: None,
        };
        member_scan(&village.store, &CheckinSigner::new(SECRET), member, &scan)
    }

    fn refused_scans(village: &Village, member: i64) -> Vec<String> {
        village
            .store
            .read(|c| db::activities::refusals::refused_for_member(c, member))
            .unwrap()
            .into_iter()
            .map(|refusal| refusal.reason)
            .collect()
    }

    #[test]
    fn a_member_scans_in_then_out_and_a_second_scan_in_is_refused() {
        let village = Village::fresh();
        let activity = village.activity(HOUR, HOUR, 10);
        let member = village.member("王秀英");

        let checked_in = scan(
            &village,
            member,
            screen_code(&village, activity, Purpose::CheckIn),
        )
        .unwrap();
        assert_eq!(checked_in.attendance.checkin_method, "dynamic_qr");
        let again = scan(
            &village,
            member,
            screen_code(&village, activity, Purpose::CheckIn),
        )
        .unwrap_err();
        assert_eq!(again.code(), "already_checked_in");
        let out = scan(
            &village,
            member,
            screen_code(&village, activity, Purpose::CheckOut),
        )
        .unwrap();
        assert!(out.attendance.checkout_at.is_some());
        assert_eq!(refused_scans(&village, member), ["already_checked_in"]);
    }

    #[test]
    fn a_screen_code_expires_a_few_steps_later_by_the_service_clock() {
        let village = Village::fresh();
        let activity = village.activity(HOUR, HOUR, 10);
        let member = village.member("王秀英");
        let code = screen_code(&village, activity, Purpose::CheckIn);

        village.clock.advance(Duration::from_secs(5 * 60));

        assert_eq!(
            scan(&village, member, code).unwrap_err().code(),
            "token_expired"
        );
        assert_eq!(refused_scans(&village, member), ["token_expired"]);
    }

    #[test]
    fn a_scan_after_the_activity_ended_is_refused_and_logged() {
        let village = Village::fresh();
        let activity = village.activity(HOUR, Duration::from_secs(60), 10);
        let member = village.member("王秀英");

        village.clock.advance(Duration::from_secs(120));

        let late = scan(
            &village,
            member,
            screen_code(&village, activity, Purpose::CheckIn),
        );
        assert_eq!(late.unwrap_err().code(), "activity_not_open");
        assert_eq!(refused_scans(&village, member), ["activity_not_open"]);
    }

    #[test]
    fn a_forged_code_is_refused_as_invalid() {
        let village = Village::fresh();
        let member = village.member("王秀英");
        let forged = CheckinSigner::new(b"somebody else's secret").sign(CheckinToken {
            kind: TokenKind::Dynamic,
            purpose: Purpose::CheckIn,
            activity_id: 1,
            counter: time_step(village.store.now(), 20),
        });
        assert_eq!(
            scan(&village, member, forged).unwrap_err().code(),
            "token_invalid"
        );
    }

    #[test]
    fn an_organiser_scans_a_typed_card_number_and_only_within_their_units() {
        let village = Village::fresh();
        let activity = village.activity(HOUR, HOUR, 10);
        let member = village.member("王奶奶");
        let card = PresentedCard::read(SECRET, &card_number(member)).unwrap();
        let organiser = village.staff(3, Role::Organiser);

        let recorded = card_scan(
            &village.store,
            &organiser,
            activity,
            &card,
            Purpose::CheckIn,
        )
        .unwrap();
        assert_eq!(
            (
                recorded.attendance.checkin_method.as_str(),
                recorded.member_name.as_deref()
            ),
            ("card_scan", Some("王奶奶"))
        );

        let mut stranger = village.staff(4, Role::Organiser);
        stranger.0.scopes[0].path = "/999/".into();
        let refused = card_scan(
            &village.store,
            &stranger,
            activity,
            &card,
            Purpose::CheckOut,
        );
        assert_eq!(refused.unwrap_err().code(), "not_found");
    }
}
