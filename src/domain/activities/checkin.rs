//! Whether a scan may check a member in or out: the decisions that need no database.

use crate::domain::activities::activity::{scan_window, Geofence, StoredStatus};
use crate::domain::activities::checkin_token::{
    step_is_current, time_step, CheckinToken, TokenKind,
};

/// Why a scan was refused. Every refusal is logged for the organiser and can be appealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanRefusal {
    #[error("this QR code is not a check-in code of ours, or it was altered")]
    TokenInvalid,
    #[error("this QR code has expired; scan the code on the screen again")]
    TokenExpired,
    #[error("this poster was replaced by a newer one; scan the current poster")]
    PosterReplaced,
    #[error("the activity is not open for scans: {0}")]
    ActivityNotOpen(&'static str),
    #[error("you have already checked in to this activity")]
    AlreadyCheckedIn,
    #[error("you have already checked out of this activity")]
    AlreadyCheckedOut,
    #[error("you have not checked in to this activity yet")]
    NotCheckedIn,
    #[error("this activity checks where you are; allow location access and scan again")]
    LocationRequired,
    #[error("you are {distance_m} m from the activity; scans are accepted within {radius_m} m")]
    OutsideGeofence { distance_m: i64, radius_m: i64 },
    #[error("this activity is for signed-up volunteers only")]
    NotSignedUp,
    #[error("your membership is not active")]
    MemberInactive,
}

impl ScanRefusal {
    pub const CODES: &'static [&'static str] = &[
        "token_invalid",
        "token_expired",
        "poster_replaced",
        "activity_not_open",
        "already_checked_in",
        "already_checked_out",
        "not_checked_in",
        "location_required",
        "outside_geofence",
        "not_signed_up",
        "member_inactive",
    ];

    pub fn code(&self) -> &'static str {
        match self {
            ScanRefusal::TokenInvalid => "token_invalid",
            ScanRefusal::TokenExpired => "token_expired",
            ScanRefusal::PosterReplaced => "poster_replaced",
            ScanRefusal::ActivityNotOpen(_) => "activity_not_open",
            ScanRefusal::AlreadyCheckedIn => "already_checked_in",
            ScanRefusal::AlreadyCheckedOut => "already_checked_out",
            ScanRefusal::NotCheckedIn => "not_checked_in",
            ScanRefusal::LocationRequired => "location_required",
            ScanRefusal::OutsideGeofence { .. } => "outside_geofence",
            ScanRefusal::NotSignedUp => "not_signed_up",
            ScanRefusal::MemberInactive => "member_inactive",
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            ScanRefusal::TokenInvalid => "Invalid check-in code",
            ScanRefusal::TokenExpired => "Check-in code expired",
            ScanRefusal::PosterReplaced => "Poster replaced",
            ScanRefusal::ActivityNotOpen(_) => "Activity not open",
            ScanRefusal::AlreadyCheckedIn => "Already checked in",
            ScanRefusal::AlreadyCheckedOut => "Already checked out",
            ScanRefusal::NotCheckedIn => "Not checked in",
            ScanRefusal::LocationRequired => "Location required",
            ScanRefusal::OutsideGeofence { .. } => "Outside the activity's area",
            ScanRefusal::NotSignedUp => "Not signed up",
            ScanRefusal::MemberInactive => "Member not active",
        }
    }

    /// 422 for a code that is not (or no longer) good, 409 for a scan that conflicts with what
    /// was already recorded or with the activity's state.
    pub fn status(&self) -> u16 {
        match self {
            ScanRefusal::TokenInvalid
            | ScanRefusal::TokenExpired
            | ScanRefusal::PosterReplaced
            | ScanRefusal::LocationRequired
            | ScanRefusal::OutsideGeofence { .. } => 422,
            ScanRefusal::MemberInactive => 403,
            _ => 409,
        }
    }
}

/// What the database knows about an activity, for judging a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanTarget {
    pub activity_id: i64,
    pub status: StoredStatus,
    pub starts_at: i64,
    pub ends_at: i64,
    pub grace_minutes: i64,
    pub qr_step_seconds: i64,
    pub poster_version: i64,
    pub geofence: Option<Geofence>,
}

/// Checks a member's scan of an activity QR against the activity and the clock. Whether the
/// member already checked in is for the database to say (under its unique constraint).
pub fn judge_scan(
    token: &CheckinToken,
    target: &ScanTarget,
    now: i64,
    location: Option<(i64, i64)>,
) -> Result<(), ScanRefusal> {
    debug_assert_eq!(token.activity_id, target.activity_id);
    match token.kind {
        TokenKind::Dynamic => {
            let now_step = time_step(now, target.qr_step_seconds);
            if !step_is_current(token.counter, now_step) {
                return Err(ScanRefusal::TokenExpired);
            }
        }
        TokenKind::Poster => {
            if token.counter != target.poster_version as u64 {
                return Err(ScanRefusal::PosterReplaced);
            }
        }
    }
    judge_window(target, now)?;
    if let Some(fence) = target.geofence {
        let (latitude_e6, longitude_e6) = location.ok_or(ScanRefusal::LocationRequired)?;
        if !fence.contains(latitude_e6, longitude_e6) {
            let distance = crate::domain::activities::activity::distance_m(
                (fence.latitude_e6, fence.longitude_e6),
                (latitude_e6, longitude_e6),
            );
            return Err(ScanRefusal::OutsideGeofence {
                distance_m: distance.round() as i64,
                radius_m: fence.radius_m,
            });
        }
    }
    Ok(())
}

/// The activity must be published and the clock inside its scan window.
pub fn judge_window(target: &ScanTarget, now: i64) -> Result<(), ScanRefusal> {
    match target.status {
        StoredStatus::Published => {}
        StoredStatus::Draft => return Err(ScanRefusal::ActivityNotOpen("it is not published")),
        StoredStatus::Cancelled => return Err(ScanRefusal::ActivityNotOpen("it was cancelled")),
        StoredStatus::Settled => return Err(ScanRefusal::ActivityNotOpen("it is already settled")),
    }
    let (opens, closes) = scan_window(target.starts_at, target.ends_at, target.grace_minutes);
    if now < opens {
        return Err(ScanRefusal::ActivityNotOpen("it has not started yet"));
    }
    if now > closes {
        return Err(ScanRefusal::ActivityNotOpen("it has ended"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::activities::activity::Purpose;

    const MINUTE: i64 = 60_000_000;

    fn target() -> ScanTarget {
        ScanTarget {
            activity_id: 7,
            status: StoredStatus::Published,
            starts_at: 1_000 * MINUTE,
            ends_at: 1_120 * MINUTE,
            grace_minutes: 30,
            qr_step_seconds: 20,
            poster_version: 2,
            geofence: None,
        }
    }

    fn dynamic_at(now: i64) -> CheckinToken {
        CheckinToken {
            kind: TokenKind::Dynamic,
            purpose: Purpose::CheckIn,
            activity_id: 7,
            counter: time_step(now, 20),
        }
    }

    #[test]
    fn a_fresh_dynamic_token_inside_the_window_is_accepted() {
        let now = 1_010 * MINUTE;
        assert_eq!(judge_scan(&dynamic_at(now), &target(), now, None), Ok(()));
        // 20 s later the previous step is still good; 40 s later it is not.
        assert_eq!(
            judge_scan(&dynamic_at(now), &target(), now + 20_000_000, None),
            Ok(())
        );
        assert_eq!(
            judge_scan(&dynamic_at(now), &target(), now + 40_000_000, None),
            Err(ScanRefusal::TokenExpired)
        );
    }

    #[test]
    fn scans_outside_the_window_or_state_are_refused() {
        let early = 900 * MINUTE;
        assert!(matches!(
            judge_scan(&dynamic_at(early), &target(), early, None),
            Err(ScanRefusal::ActivityNotOpen(_))
        ));
        let grace = 1_140 * MINUTE;
        assert_eq!(
            judge_scan(&dynamic_at(grace), &target(), grace, None),
            Ok(())
        );
        let mut draft = target();
        draft.status = StoredStatus::Draft;
        let now = 1_010 * MINUTE;
        assert!(matches!(
            judge_scan(&dynamic_at(now), &draft, now, None),
            Err(ScanRefusal::ActivityNotOpen(_))
        ));
    }

    #[test]
    fn a_replaced_poster_is_refused() {
        let now = 1_010 * MINUTE;
        let poster = |version| CheckinToken {
            kind: TokenKind::Poster,
            purpose: Purpose::CheckIn,
            activity_id: 7,
            counter: version,
        };
        assert_eq!(judge_scan(&poster(2), &target(), now, None), Ok(()));
        assert_eq!(
            judge_scan(&poster(1), &target(), now, None),
            Err(ScanRefusal::PosterReplaced)
        );
    }

    #[test]
    fn a_geofenced_activity_needs_a_location_inside_it() {
        let mut fenced = target();
        fenced.geofence = Some(Geofence {
            latitude_e6: 30_000_000,
            longitude_e6: 120_000_000,
            radius_m: 300,
        });
        let now = 1_010 * MINUTE;
        let token = dynamic_at(now);
        assert_eq!(
            judge_scan(&token, &fenced, now, None),
            Err(ScanRefusal::LocationRequired)
        );
        assert_eq!(
            judge_scan(&token, &fenced, now, Some((30_001_000, 120_000_000))),
            Ok(())
        );
        assert!(matches!(
            judge_scan(&token, &fenced, now, Some((30_010_000, 120_000_000))),
            Err(ScanRefusal::OutsideGeofence { radius_m: 300, .. })
        ));
    }
}
