//! Notifications: which channel a message goes by, where it stands, and when a failed delivery
//! is tried again.

use crate::domain::ledger::string_enum;

string_enum! {
    /// How a message reaches its recipient.
    Channel { Email => "email", Wechat => "wechat" }
}

string_enum! {
    /// `queued` → `sending` (claimed under a lease) → `sent`; back to `queued` after a failure
    /// that may pass, or `dead` after a permanent one or the last attempt.
    MessageStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Dead => "dead",
    }
}

/// What a delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// May pass (the server is down, busy, or refused for now): try again later.
    Transient(String),
    /// Will not pass (no such mailbox, the user did not subscribe): never try again.
    Permanent(String),
}

const FIRST_RETRY_MICROS: i64 = 30 * 1_000_000;
const LONGEST_RETRY_MICROS: i64 = 6 * 3_600 * 1_000_000;

/// How long to wait after the `attempt`-th failed attempt (1 = the first): 30 s doubling each
/// time, at most six hours, spread by `jitter_permille` (0–999, drawn at random by the caller)
/// over the upper half of the step, so that many messages failing together do not come back
/// together.
pub fn retry_delay(attempt: i64, jitter_permille: u16) -> i64 {
    let doublings = attempt.clamp(1, 20) - 1;
    let step = FIRST_RETRY_MICROS
        .saturating_mul(1_i64 << doublings)
        .min(LONGEST_RETRY_MICROS);
    let jitter = i64::from(jitter_permille.min(999));
    step / 2 + step / 2 * jitter / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_six_hours() {
        let waits: Vec<i64> = (1..=12).map(|n| retry_delay(n, 999)).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert!(waits[0] < 31_000_000 && waits[0] > 29_000_000);
        assert!(retry_delay(40, 999) <= LONGEST_RETRY_MICROS);
    }

    #[test]
    fn jitter_spreads_a_step_over_its_upper_half() {
        let (least, most) = (retry_delay(3, 0), retry_delay(3, 999));
        assert_eq!(least, 60_000_000);
        assert!(most > 119_000_000 && most < 120_000_000);
        assert_eq!(retry_delay(3, 5000), most);
    }

    #[test]
    fn stored_texts_read_back_as_the_same_values() {
        for status in MessageStatus::ALL {
            assert_eq!(MessageStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(Channel::parse("sms"), None);
    }
}
