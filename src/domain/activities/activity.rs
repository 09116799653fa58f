//! Volunteer activities: their lifecycle, when scans are accepted, and what an attendance earns.

use crate::domain::ledger::money::MINOR_PER_UNIT;
use crate::domain::ledger::string_enum;

const MICROS_PER_MINUTE: i64 = 60_000_000;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;

string_enum! {
    /// What is stored. `ongoing` and `finished` are read off the clock (see `effective_status`).
    StoredStatus {
        Draft => "draft",
        Published => "published",
        Cancelled => "cancelled",
        Settled => "settled",
    }
}

string_enum! {
    /// What volunteers and organisers see.
    ActivityStatus {
        Draft => "draft",
        Published => "published",
        Ongoing => "ongoing",
        Finished => "finished",
        Settled => "settled",
        Cancelled => "cancelled",
    }
}

string_enum! {
    AwardMode { Fixed => "fixed", PerHour => "per_hour" }
}

string_enum! {
    HoursRounding { Down => "down", Nearest => "nearest", Up => "up" }
}

string_enum! {
    /// What a check-in without a check-out earns when the activity is settled: `no_hours`
    /// (fixed points only, if the activity pays fixed points) or `until_end` (as if the member
    /// checked out when the activity ended).
    MissingCheckout { NoHours => "no_hours", UntilEnd => "until_end" }
}

string_enum! {
    Purpose { CheckIn => "check_in", CheckOut => "check_out" }
}

/// When an activity runs and how attendance turns into points and hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardTerms {
    pub starts_at: i64,
    pub ends_at: i64,
    pub mode: AwardMode,
    /// Fixed points, or points per credited hour (minor units).
    pub points: i64,
    /// Hours are credited in steps of this many minutes.
    pub hours_unit_minutes: i64,
    pub rounding: HoursRounding,
    /// Most hours credited for one activity (minor units of HOURS: 0.01 h).
    pub max_hours: i64,
    /// Presence below this share of the activity's duration earns nothing.
    pub min_presence_percent: i64,
    pub missing_checkout: MissingCheckout,
}

/// What one attendance earns. Both amounts are minor units (points, and 0.01 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payout {
    pub points: i64,
    pub hours: i64,
    /// The member never checked out.
    pub checkout_missing: bool,
}

impl AwardTerms {
    pub fn duration(&self) -> i64 {
        self.ends_at - self.starts_at
    }

    /// The time between check-in and check-out that falls inside the activity.
    pub fn presence(&self, checkin_at: i64, checkout_at: i64) -> i64 {
        let from = checkin_at.max(self.starts_at);
        let to = checkout_at.min(self.ends_at);
        (to - from).max(0)
    }

    /// Credited hours (minor units) for a presence, rounded to the unit and capped.
    pub fn credited_hours(&self, presence: i64) -> i64 {
        let unit = self.hours_unit_minutes.max(1) * MICROS_PER_MINUTE;
        let units = match self.rounding {
            HoursRounding::Down => presence / unit,
            HoursRounding::Nearest => (presence + unit / 2) / unit,
            HoursRounding::Up => (presence + unit - 1) / unit,
        };
        let hours = units * unit * MINOR_PER_UNIT / MICROS_PER_HOUR;
        hours.min(self.max_hours)
    }

    /// What an attendance earns at settlement.
    pub fn payout(&self, checkin_at: i64, checkout_at: Option<i64>) -> Payout {
        let checkout_missing = checkout_at.is_none();
        let checkout = match (checkout_at, self.missing_checkout) {
            (Some(at), _) => Some(at),
            (None, MissingCheckout::UntilEnd) => Some(self.ends_at),
            (None, MissingCheckout::NoHours) => None,
        };
        let Some(checkout) = checkout else {
            let points = match self.mode {
                AwardMode::Fixed => self.points,
                AwardMode::PerHour => 0,
            };
            return Payout {
                points,
                hours: 0,
                checkout_missing,
            };
        };
        let presence = self.presence(checkin_at, checkout);
        // Integer comparison: presence / duration >= percent / 100.
        if presence.saturating_mul(100) < self.duration().saturating_mul(self.min_presence_percent)
        {
            return Payout {
                points: 0,
                hours: 0,
                checkout_missing,
            };
        }
        let hours = self.credited_hours(presence);
        let points = match self.mode {
            AwardMode::Fixed => self.points,
            // points per hour × hours, both in minor units; rounds down to the minor unit.
            AwardMode::PerHour => {
                (i128::from(self.points) * i128::from(hours) / i128::from(MINOR_PER_UNIT)) as i64
            }
        };
        Payout {
            points,
            hours,
            checkout_missing,
        }
    }
}

/// The status volunteers see, from the stored status and the clock.
pub fn effective_status(
    stored: StoredStatus,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> ActivityStatus {
    match stored {
        StoredStatus::Draft => ActivityStatus::Draft,
        StoredStatus::Cancelled => ActivityStatus::Cancelled,
        StoredStatus::Settled => ActivityStatus::Settled,
        StoredStatus::Published if now < starts_at => ActivityStatus::Published,
        StoredStatus::Published if now < ends_at => ActivityStatus::Ongoing,
        StoredStatus::Published => ActivityStatus::Finished,
    }
}

/// Scans are accepted from `grace` before the start until `grace` after the end.
pub fn scan_window(starts_at: i64, ends_at: i64, grace_minutes: i64) -> (i64, i64) {
    let grace = grace_minutes * MICROS_PER_MINUTE;
    (starts_at - grace, ends_at + grace)
}

/// A circle on the map, in microdegrees and metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geofence {
    pub latitude_e6: i64,
    pub longitude_e6: i64,
    pub radius_m: i64,
}

impl Geofence {
    pub fn contains(&self, latitude_e6: i64, longitude_e6: i64) -> bool {
        distance_m(
            (self.latitude_e6, self.longitude_e6),
            (latitude_e6, longitude_e6),
        ) <= self.radius_m as f64
    }
}

/// Great-circle distance in metres (haversine). Coordinates only; never near a balance.
pub fn distance_m(a: (i64, i64), b: (i64, i64)) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_000.0;
    let to_rad = |e6: i64| (e6 as f64 / 1e6).to_radians();
    let (lat1, lon1, lat2, lon2) = (to_rad(a.0), to_rad(a.1), to_rad(b.0), to_rad(b.1));
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = MICROS_PER_HOUR;
    const MINUTE: i64 = MICROS_PER_MINUTE;

    fn terms(mode: AwardMode, points: i64) -> AwardTerms {
        AwardTerms {
            starts_at: 0,
            ends_at: 2 * HOUR,
            mode,
            points,
            hours_unit_minutes: 30,
            rounding: HoursRounding::Down,
            max_hours: 150,
            min_presence_percent: 60,
            missing_checkout: MissingCheckout::NoHours,
        }
    }

    #[test]
    fn presence_counts_only_time_inside_the_activity() {
        let t = terms(AwardMode::Fixed, 500);
        assert_eq!(t.presence(-HOUR, 3 * HOUR), 2 * HOUR);
        assert_eq!(t.presence(HOUR, HOUR / 2), 0);
    }

    #[test]
    fn hours_round_to_the_unit_and_stop_at_the_cap() {
        let mut t = terms(AwardMode::Fixed, 500);
        assert_eq!(t.credited_hours(HOUR + 29 * MINUTE), 100);
        t.rounding = HoursRounding::Nearest;
        assert_eq!(t.credited_hours(HOUR + 15 * MINUTE), 150);
        assert_eq!(t.credited_hours(HOUR + 14 * MINUTE), 100);
        t.rounding = HoursRounding::Up;
        assert_eq!(t.credited_hours(HOUR + MINUTE), 150);
        assert_eq!(t.credited_hours(2 * HOUR), 150, "capped at 1.5 h");
    }

    #[test]
    fn too_short_a_presence_earns_nothing() {
        let t = terms(AwardMode::Fixed, 500);
        // 60% of 2 h = 72 minutes.
        let short = t.payout(0, Some(71 * MINUTE));
        assert_eq!((short.points, short.hours), (0, 0));
        let enough = t.payout(0, Some(72 * MINUTE));
        assert_eq!((enough.points, enough.hours), (500, 100));
    }

    #[test]
    fn per_hour_points_follow_the_credited_hours() {
        let t = terms(AwardMode::PerHour, 1000);
        let paid = t.payout(0, Some(2 * HOUR));
        assert_eq!((paid.points, paid.hours), (1500, 150));
    }

    #[test]
    fn a_forgotten_checkout_pays_fixed_points_only_by_default() {
        let fixed = terms(AwardMode::Fixed, 500).payout(0, None);
        assert_eq!(
            (fixed.points, fixed.hours, fixed.checkout_missing),
            (500, 0, true)
        );
        let hourly = terms(AwardMode::PerHour, 1000).payout(0, None);
        assert_eq!((hourly.points, hourly.hours), (0, 0));
        let mut until_end = terms(AwardMode::PerHour, 1000);
        until_end.missing_checkout = MissingCheckout::UntilEnd;
        let paid = until_end.payout(0, None);
        assert_eq!(
            (paid.points, paid.hours, paid.checkout_missing),
            (1500, 150, true)
        );
    }

    #[test]
    fn status_follows_the_clock_once_published() {
        let s = |now| effective_status(StoredStatus::Published, 10, 20, now);
        assert_eq!(s(5), ActivityStatus::Published);
        assert_eq!(s(10), ActivityStatus::Ongoing);
        assert_eq!(s(20), ActivityStatus::Finished);
        assert_eq!(
            effective_status(StoredStatus::Cancelled, 10, 20, 15),
            ActivityStatus::Cancelled
        );
    }

    #[test]
    fn a_geofence_admits_scans_within_its_radius() {
        // 天安门广场 and a point about 111 m north of it.
        let fence = Geofence {
            latitude_e6: 39_903_000,
            longitude_e6: 116_397_000,
            radius_m: 200,
        };
        assert!(fence.contains(39_904_000, 116_397_000));
        assert!(!fence.contains(39_906_000, 116_397_000));
        let d = distance_m((39_903_000, 116_397_000), (39_904_000, 116_397_000));
        assert!((d - 111.2).abs() < 0.5, "{d}");
    }
}
