//! The time the service acts at. Passed in (in the app state, to the upkeep thread and to every
//! use-case) rather than read from the system in place, so time windows — check-in grace, QR
//! steps, hold and order expiry, auto-settlement, caps per day — can be tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Microseconds since the Unix epoch, as every timestamp column stores them.
pub trait Clock: Send + Sync {
    fn now_micros(&self) -> i64;
}

/// How the clock travels: one instance shared by the server workers and the upkeep thread.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock: what the service runs on.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        chrono::Utc::now().timestamp_micros()
    }
}

/// The system clock moved by a settable offset, for tests: time still passes (timestamps keep
/// their order), and a test jumps past a window's end with `advance` instead of waiting for it.
#[derive(Default)]
pub struct ShiftedClock {
    offset_micros: AtomicI64,
}

impl ShiftedClock {
    pub fn new() -> Arc<ShiftedClock> {
        Arc::new(ShiftedClock::default())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::SeqCst);
    }

    pub fn offset_micros(&self) -> i64 {
        self.offset_micros.load(Ordering::SeqCst)
    }
}

impl Clock for ShiftedClock {
    fn now_micros(&self) -> i64 {
        SystemClock.now_micros() + self.offset_micros()
    }
}

/// A timestamp as RFC 3339 in UTC with microseconds, as the API and the audit log show it.
pub fn rfc3339(micros: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_runs_with_the_system_clock_and_jumps_when_advanced() {
        let clock = ShiftedClock::new();
        let before = SystemClock.now_micros();
        let shifted = clock.now_micros();
        assert!(shifted >= before && shifted - before < 1_000_000);

        clock.advance(std::time::Duration::from_secs(3600));
        let later = clock.now_micros();
        assert!(later - SystemClock.now_micros() > 3_599_000_000);
        assert!(later - shifted >= 3_600_000_000);
    }
}
