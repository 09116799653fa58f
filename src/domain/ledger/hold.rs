//! Two-phase holds: points reserved now, captured or released later.

use crate::domain::ledger::money::Amount;
use crate::domain::ledger::string_enum;

string_enum! {
    /// A hold starts pending and ends exactly once.
    HoldStatus {
        Pending => "pending",
        Captured => "captured",
        Released => "released",
        Expired => "expired",
    }
}

/// A hold may reserve points for at most 90 days.
pub const MAX_HOLD_SECONDS: i64 = 90 * 24 * 3600;
pub const MIN_HOLD_SECONDS: i64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error("the hold is {0}, not pending")]
    NotPending(HoldStatus),
    #[error("the hold expired at its deadline")]
    Expired,
    #[error("cannot capture {requested}: the hold reserves only {reserved}")]
    CaptureExceedsHold { requested: Amount, reserved: Amount },
    #[error("a hold must last between {MIN_HOLD_SECONDS} and {MAX_HOLD_SECONDS} seconds")]
    BadDuration,
}

/// Decides how much of a pending hold a capture takes; the rest is released.
pub fn plan_capture(
    status: HoldStatus,
    reserved: Amount,
    expires_at_micros: i64,
    now_micros: i64,
    requested: Option<Amount>,
) -> Result<Amount, HoldError> {
    if status != HoldStatus::Pending {
        return Err(HoldError::NotPending(status));
    }
    if now_micros >= expires_at_micros {
        return Err(HoldError::Expired);
    }
    let captured = requested.unwrap_or(reserved);
    if captured > reserved {
        return Err(HoldError::CaptureExceedsHold {
            requested: captured,
            reserved,
        });
    }
    Ok(captured)
}

pub fn check_duration(seconds: i64) -> Result<i64, HoldError> {
    if (MIN_HOLD_SECONDS..=MAX_HOLD_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(HoldError::BadDuration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_hold_captures_at_most_what_it_reserves() {
        let ten = Amount::units(10);
        assert_eq!(
            plan_capture(HoldStatus::Pending, ten, 100, 50, None),
            Ok(ten)
        );
        assert_eq!(
            plan_capture(HoldStatus::Pending, ten, 100, 50, Some(Amount::units(4))),
            Ok(Amount::units(4))
        );
        assert!(matches!(
            plan_capture(HoldStatus::Pending, ten, 100, 50, Some(Amount::units(11))),
            Err(HoldError::CaptureExceedsHold { .. })
        ));
    }

    #[test]
    fn a_hold_ends_only_once_and_not_after_its_deadline() {
        let ten = Amount::units(10);
        assert_eq!(
            plan_capture(HoldStatus::Released, ten, 100, 50, None),
            Err(HoldError::NotPending(HoldStatus::Released))
        );
        assert_eq!(
            plan_capture(HoldStatus::Pending, ten, 100, 100, None),
            Err(HoldError::Expired)
        );
    }
}
