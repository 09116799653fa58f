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

/// The contract's pattern for an amount, which the parser below implements exactly: an optional
/// minus, whole units without leading zeros, and one or two decimals after a point.
pub const AMOUNT_PATTERN: &str = r"^-?(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$";

impl FromStr for Amount {
    type Err = AmountError;

    /// Accepts exactly `AMOUNT_PATTERN`: no spaces, no `+`, no exponent, no leading zeros, no
    /// bare point (`1.`, `.5`). More decimals or digits than it allows get their own error.
    fn from_str(text: &str) -> Result<Amount, AmountError> {
        let not_a_number = || AmountError::NotANumber(truncate(text, 40));
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || (whole.len() > 1 && whole.starts_with('0')) {
            return Err(not_a_number());
        }
        let fraction = match fraction {
            None => "",
            Some(fraction) if all_digits(fraction) => fraction,
            Some(_) => return Err(not_a_number()),
        };
        if fraction.len() > SCALE as usize {
            return Err(AmountError::TooManyDecimals);
        }
        if whole.len() > 12 {
            return Err(AmountError::OutOfRange);
        }
        // At most 12 + 2 digits: far inside i64.
        let units: i64 = whole.parse().map_err(|_| not_a_number())?;
        let cents: i64 = format!("{fraction:0<2}")
            .parse()
            .map_err(|_| not_a_number())?;
        let minor = units * MINOR_PER_UNIT + cents;
        if minor > MAX_MINOR {
            return Err(AmountError::OutOfRange);
        }
        Ok(Amount(if negative { -minor } else { minor }))
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
            ("0.5", 50, "0.50"),
            ("-0", 0, "0.00"),
        ] {
            let amount: Amount = text.parse().unwrap();
            assert_eq!(amount.minor(), minor, "{text}");
            assert_eq!(amount.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        assert_eq!("1.005".parse::<Amount>(), Err(AmountError::TooManyDecimals));
        assert_eq!("3.000".parse::<Amount>(), Err(AmountError::TooManyDecimals));
        assert_eq!(
            "100000000000.01".parse::<Amount>(),
            Err(AmountError::OutOfRange)
        );
        assert_eq!(
            "99999999999999999999999999999".parse::<Amount>(),
            Err(AmountError::OutOfRange)
        );
        for junk in [
            "", "abc", "1e3", "1_000", "--1", "1.2.3", ".", "NaN", " ", " 1", "1 ", "\t1", "\n2",
            "0001", "01", "-01", "1.", ".5", "+1", "-", "1.-2", "１", "1,5", "0x10",
        ] {
            assert!(
                matches!(junk.parse::<Amount>(), Err(AmountError::NotANumber(_))),
                "{junk:?}"
            );
        }
        assert_eq!(Amount::parse_positive("0"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse_positive("-1"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse_nonzero("0.00"), Err(AmountError::Zero));
    }

    proptest::proptest! {
        #[test]
        fn every_string_of_the_contract_pattern_parses_to_itself(
            text in "-?(0|[1-9][0-9]{0,10})(\\.[0-9]{1,2})?"
        ) {
            let amount: Amount = text.parse().unwrap();
            proptest::prop_assert_eq!(amount.to_decimal(), Decimal::from_str_exact(&text).unwrap());
        }

        #[test]
        fn a_string_that_parses_matches_the_contract_pattern(text in "[ 0-9.+-]{0,8}") {
            if text.parse::<Amount>().is_ok() {
                let (whole, fraction) = text.trim_start_matches('-').split_once('.')
                    .map_or((text.trim_start_matches('-'), None), |(w, f)| (w, Some(f)));
                proptest::prop_assert!(text.matches('-').count() <= 1 && !text.contains([' ', '+']));
                proptest::prop_assert!(whole == "0" || !whole.starts_with('0'));
                proptest::prop_assert!(fraction.is_none_or(|f| (1..=2).contains(&f.len())));
            }
        }
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
