//! Points rules (积分细则): what an award or deduction is for, how large it may be, and how much
//! one member may receive under it per day, month or year.

use crate::domain::ledger::string_enum;

string_enum! {
    /// How reports group awards.
    RuleCategory {
        VolunteerService => "volunteer_service",
        PublicWelfare => "public_welfare",
        VillageRules => "village_rules",
        GoodDeeds => "good_deeds",
        Deduction => "deduction",
        Other => "other",
    }
}

string_enum! {
    /// A calendar period for per-member caps, in the bank's local time.
    Period { Day => "day", Month => "month", Year => "year" }
}

/// The amounts a rule allows, in minor units. A rule either awards (all positive) or deducts
/// (all negative); a rule that could do both would make its caps meaningless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRange {
    pub default: i64,
    pub min: i64,
    pub max: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("points must not be zero")]
    Zero,
    #[error("default, min and max must all be positive (an award) or all negative (a deduction)")]
    MixedSigns,
    #[error("min <= default <= max is required")]
    OutOfOrder,
    #[error("{0} is outside the rule's range {1}..={2}")]
    OutsideRange(i64, i64, i64),
}

impl RuleRange {
    pub fn parse(default: i64, min: i64, max: i64) -> Result<RuleRange, RuleError> {
        if default == 0 || min == 0 || max == 0 {
            return Err(RuleError::Zero);
        }
        let positive = default > 0;
        if (min > 0) != positive || (max > 0) != positive {
            return Err(RuleError::MixedSigns);
        }
        if !(min <= default && default <= max) {
            return Err(RuleError::OutOfOrder);
        }
        Ok(RuleRange { default, min, max })
    }

    pub fn is_deduction(&self) -> bool {
        self.default < 0
    }

    /// The amount of one award: the default, or a requested amount inside the range.
    pub fn amount(&self, requested: Option<i64>) -> Result<i64, RuleError> {
        let amount = requested.unwrap_or(self.default);
        if amount < self.min || amount > self.max {
            return Err(RuleError::OutsideRange(amount, self.min, self.max));
        }
        Ok(amount)
    }
}

/// The per-member caps of a rule (absolute amounts in minor units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub per_day: Option<i64>,
    pub per_month: Option<i64>,
    pub per_year: Option<i64>,
}

impl Caps {
    pub fn each(&self) -> impl Iterator<Item = (Period, i64)> {
        [
            (Period::Day, self.per_day),
            (Period::Month, self.per_month),
            (Period::Year, self.per_year),
        ]
        .into_iter()
        .filter_map(|(period, cap)| cap.map(|cap| (period, cap)))
    }
}

/// Whether adding `amount` to what a member already received in a period stays within `cap`.
/// Amounts are compared by absolute value, so caps work the same for deductions.
pub fn within_cap(already: i64, amount: i64, cap: i64) -> bool {
    already
        .unsigned_abs()
        .checked_add(amount.unsigned_abs())
        .is_some_and(|total| total <= cap.unsigned_abs())
}

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// The first microsecond of the period containing `now`, for a bank whose local time is UTC +
/// `offset_seconds` (China: +8 h, no daylight saving).
pub fn period_start(now_micros: i64, period: Period, offset_seconds: i64) -> i64 {
    let local_seconds = now_micros.div_euclid(MICROS_PER_SECOND) + offset_seconds;
    let days = local_seconds.div_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let first_day = match period {
        Period::Day => days_from_civil(year, month, day),
        Period::Month => days_from_civil(year, month, 1),
        Period::Year => days_from_civil(year, 1, 1),
    };
    (first_day * SECONDS_PER_DAY - offset_seconds) * MICROS_PER_SECOND
}

/// The local calendar date (year, month, day) at `now`.
pub fn local_date(now_micros: i64, offset_seconds: i64) -> (i64, i64, i64) {
    let local_seconds = now_micros.div_euclid(MICROS_PER_SECOND) + offset_seconds;
    civil_from_days(local_seconds.div_euclid(SECONDS_PER_DAY))
}

/// The first microsecond of a local calendar day.
pub fn day_start(year: i64, month: i64, day: i64, offset_seconds: i64) -> i64 {
    (days_from_civil(year, month, day) * SECONDS_PER_DAY - offset_seconds) * MICROS_PER_SECOND
}

// Howard Hinnant's algorithms: days since 1970-01-01 <-> proleptic Gregorian dates.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHINA: i64 = 8 * 3600;

    fn micros(y: i64, m: i64, d: i64, hour: i64) -> i64 {
        (days_from_civil(y, m, d) * SECONDS_PER_DAY + hour * 3600) * MICROS_PER_SECOND
    }

    #[test]
    fn a_rule_either_awards_or_deducts() {
        assert!(RuleRange::parse(500, 100, 1000).is_ok());
        assert!(RuleRange::parse(-500, -1000, -100).unwrap().is_deduction());
        assert_eq!(
            RuleRange::parse(500, -100, 1000),
            Err(RuleError::MixedSigns)
        );
        assert_eq!(RuleRange::parse(0, 0, 0), Err(RuleError::Zero));
        assert_eq!(RuleRange::parse(50, 100, 1000), Err(RuleError::OutOfOrder));
    }

    #[test]
    fn an_award_stays_inside_its_rules_range() {
        let range = RuleRange::parse(500, 100, 1000).unwrap();
        assert_eq!(range.amount(None), Ok(500));
        assert_eq!(range.amount(Some(1000)), Ok(1000));
        assert!(range.amount(Some(1001)).is_err());
        assert!(range.amount(Some(-500)).is_err());
    }

    #[test]
    fn caps_count_absolute_amounts() {
        assert!(within_cap(400, 100, 500));
        assert!(!within_cap(400, 101, 500));
        assert!(within_cap(-400, -100, 500));
        assert!(!within_cap(i64::MAX, i64::MAX, 500));
    }

    #[test]
    fn periods_start_at_local_midnight_in_china() {
        // 2026-11-23 17:00 UTC is 2026-11-24 01:00 in Beijing: the local day began at 16:00 UTC.
        let now = micros(2026, 11, 23, 17);
        assert_eq!(
            period_start(now, Period::Day, CHINA),
            micros(2026, 11, 23, 16)
        );
        assert_eq!(
            period_start(now, Period::Month, CHINA),
            micros(2026, 10, 31, 16)
        );
        assert_eq!(
            period_start(now, Period::Year, CHINA),
            micros(2025, 12, 31, 16)
        );
    }

    #[test]
    fn calendar_conversion_round_trips() {
        for days in [-800_000, -1, 0, 59, 60, 10_956, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
    }
}
