//! Exact amounts. Inside: integer minor units (1 point = 100). At the edge: decimal strings.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Decimal places of every asset (points and service hours alike).
pub const SCALE: u32 = 2;
/// One unit (one point, one hour) in minor units.
pub const MINOR_PER_UNIT: i64 = 100;
/// The largest magnitude a single amount may have: 10^11 points.
/// Far above any real balance, and small enough that sums of many amounts never overflow `i64`.
pub const MAX_MINOR: i64 = 10_000_000_000_000;
/// The most a wallet may hold: 10^13 points. Keeps every stored sum far inside `i64`
/// (SQLite would silently turn an overflowing integer into a float).
pub const MAX_WALLET_MINOR: i64 = 1_000_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("`{0}` is not a decimal number")]
    NotANumber(String),
    #[error("at most {SCALE} decimal places are allowed")]
    TooManyDecimals,
    #[error("the amount is too large (at most 100000000000)")]
    OutOfRange,
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("the amount must not be zero")]
    Zero,
}

/// A signed, exact amount of one asset, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// Trusts its input: for values read back from our own database.
    pub fn from_minor(minor: i64) -> Amount {
        Amount(minor)
    }

    /// Whole units, for tests and demo data.
    pub fn units(units: i64) -> Amount {
        Amount(units * MINOR_PER_UNIT)
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// Parses a decimal at the edge: rejects more than two decimals and anything out of range.
    pub fn parse_decimal(value: Decimal) -> Result<Amount, AmountError> {
        let normalized = value.normalize();
        if normalized.scale() > SCALE {
            return Err(AmountError::TooManyDecimals);
        }
        let mut scaled = normalized;
        scaled.rescale(SCALE);
        let minor = i64::try_from(scaled.mantissa()).map_err(|_| AmountError::OutOfRange)?;
        if minor.unsigned_abs() > MAX_MINOR as u64 {
            return Err(AmountError::OutOfRange);
        }
        Ok(Amount(minor))
    }

    /// Parses a positive amount ("12.50"): what a hold, an award or a price must be.
    pub fn parse_positive(text: &str) -> Result<Amount, AmountError> {
        let amount = text.parse::<Amount>()?;
        if amount.0 <= 0 {
            return Err(AmountError::NotPositive);
        }
        Ok(amount)
    }

    /// Parses a non-zero signed amount: what a posting line must be.
    pub fn parse_nonzero(text: &str) -> Result<Amount, AmountError> {
        let amount = text.parse::<Amount>()?;
        if amount.0 == 0 {
            return Err(AmountError::Zero);
        }
        Ok(amount)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, SCALE)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    pub fn negate(self) -> Amount {
        // |amount| <= MAX_MINOR for every constructed amount, so this cannot overflow.
        Amount(-self.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Amount, AmountError> {
        let trimmed = text.trim();
        // Decimal::from_str accepts things like "1e3" or "1_000"; an amount is plain digits.
        let digits = trimmed.strip_prefix('-').unwrap_or(trimmed);
        let plain = digits.chars().any(|c| c.is_ascii_digit())
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            && digits.matches('.').count() <= 1;
        if !plain || trimmed.len() > 40 {
            return Err(AmountError::NotANumber(truncate(text, 40)));
        }
        // The text is plain digits here, so parsing fails only on size or precision.
        let value = Decimal::from_str_exact(trimmed).map_err(|_| {
            let decimals = digits
                .split_once('.')
                .map_or(0, |(_, fraction)| fraction.len());
            if decimals > SCALE as usize {
                AmountError::TooManyDecimals
            } else {
                AmountError::OutOfRange
            }
        })?;
        Amount::parse_decimal(value)
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    /// Only strings: a JSON number may already have lost precision in the client's float.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string with at most two decimals, such as \"12.50\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_round_trip_exactly() {
        for (text, minor, shown) in [
            ("12.50", 1250, "12.50"),
            ("12.5", 1250, "12.50"),
            ("7", 700, "7.00"),
            ("-0.01", -1, "-0.01"),
            ("100000000000", MAX_MINOR, "100000000000.00"),
            ("3.000", 300, "3.00"),
        ] {
            let amount: Amount = text.parse().unwrap();
            assert_eq!(amount.minor(), minor, "{text}");
            assert_eq!(amount.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        assert_eq!("1.005".parse::<Amount>(), Err(AmountError::TooManyDecimals));
        assert_eq!(
            "100000000000.01".parse::<Amount>(),
            Err(AmountError::OutOfRange)
        );
        assert_eq!(
            "99999999999999999999999999999".parse::<Amount>(),
            Err(AmountError::OutOfRange)
        );
        for junk in ["", "abc", "1e3", "1_000", "--1", "1.2.3", ".", "NaN", " "] {
            assert!(
                matches!(junk.parse::<Amount>(), Err(AmountError::NotANumber(_))),
                "{junk:?}"
            );
        }
        assert_eq!(Amount::parse_positive("0"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse_positive("-1"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse_nonzero("0.00"), Err(AmountError::Zero));
    }

    #[test]
    fn json_numbers_are_refused_because_they_may_be_floats() {
        assert!(serde_json::from_str::<Amount>("12.5").is_err());
        assert_eq!(
            serde_json::from_str::<Amount>("\"12.5\"").unwrap(),
            Amount(1250)
        );
        assert_eq!(serde_json::to_string(&Amount(1250)).unwrap(), "\"12.50\"");
    }
}
