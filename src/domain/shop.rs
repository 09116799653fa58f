//! The points supermarket's rules that need no database: redemption days, stock movement kinds,
//! order totals and the pickup QR token.

use crate::domain::access::signed_token::{put_varint, take_varint, TokenSigner};
use crate::domain::ledger::string_enum;
use crate::domain::rules::local_date;

string_enum! {
    /// Why stock changed. Redemptions come only from fulfilled orders.
    MovementKind {
        StockIn => "stock_in",
        Donation => "donation",
        WriteOff => "write_off",
        Correction => "correction",
        Redemption => "redemption",
    }
}

impl MovementKind {
    /// Whether staff record this kind by hand; redemptions come only from orders.
    pub fn is_manual(self) -> bool {
        self != MovementKind::Redemption
    }

    /// Whether staff may record `quantity` of this kind by hand.
    pub fn allows(self, quantity: i64) -> bool {
        match self {
            MovementKind::StockIn | MovementKind::Donation => quantity > 0,
            MovementKind::WriteOff => quantity < 0,
            MovementKind::Correction => quantity != 0,
            MovementKind::Redemption => false,
        }
    }
}

string_enum! {
    OrderStatus {
        Pending => "pending",
        Fulfilled => "fulfilled",
        Cancelled => "cancelled",
        Expired => "expired",
    }
}

/// Days of the month on which a shop takes orders (e.g. the monthly redemption day).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedemptionDays(Vec<i64>);

impl RedemptionDays {
    /// `"1,15"` → days 1 and 15. Empty text means every day.
    pub fn parse(text: &str) -> Option<RedemptionDays> {
        let mut days = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let day: i64 = part.parse().ok()?;
            if !(1..=31).contains(&day) {
                return None;
            }
            if !days.contains(&day) {
                days.push(day);
            }
        }
        days.sort_unstable();
        Some(RedemptionDays(days))
    }

    pub fn every_day(&self) -> bool {
        self.0.is_empty()
    }

    pub fn days(&self) -> &[i64] {
        &self.0
    }

    /// Whether orders are taken at `now` in local time.
    pub fn is_open(&self, now_micros: i64, offset_seconds: i64) -> bool {
        let (_, _, day) = local_date(now_micros, offset_seconds);
        self.every_day() || self.0.contains(&day)
    }

    pub fn to_text(&self) -> Option<String> {
        (!self.every_day()).then(|| {
            self.0
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

const PICKUP_DOMAIN: &[u8] = b"pointsbank-pickup-v1";
/// Pickup QR codes carry this prefix, so a counter app can tell them from card codes.
pub const PICKUP_PREFIX: &str = "PBO.";

/// Signs the order id into the pickup QR payload, e.g. `PBO.AQ3kS9d2Yw4Aa1U`.
pub fn sign_pickup(secret: &[u8], order_id: i64) -> String {
    let mut body = Vec::with_capacity(4);
    put_varint(&mut body, order_id as u64);
    format!(
        "{PICKUP_PREFIX}{}",
        TokenSigner::new(secret, PICKUP_DOMAIN).seal(body)
    )
}

/// The order id of a genuine pickup QR payload.
pub fn verify_pickup(secret: &[u8], scanned: &str) -> Option<i64> {
    let text = scanned.strip_prefix(PICKUP_PREFIX)?;
    if text.len() > 60 {
        return None;
    }
    let body = TokenSigner::new(secret, PICKUP_DOMAIN).open(text)?;
    let (order_id, rest) = take_varint(&body)?;
    (rest.is_empty() && order_id <= i64::MAX as u64).then_some(order_id as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"card-secret-card-secret-card-secret!";

    #[test]
    fn redemption_days_parse_and_open_on_their_days_in_local_time() {
        let days = RedemptionDays::parse("15, 1,15").unwrap();
        assert_eq!(days.days(), [1, 15]);
        assert_eq!(days.to_text().as_deref(), Some("1,15"));
        assert!(RedemptionDays::parse("0").is_none());
        assert!(RedemptionDays::parse("x").is_none());
        assert!(RedemptionDays::parse("").unwrap().every_day());
        // 2026-11-30 17:00 UTC is 2026-12-01 01:00 in Beijing.
        let utc_evening = 1_796_058_000_000_000;
        assert!(days.is_open(utc_evening, 8 * 3600));
        assert!(!days.is_open(utc_evening, 0));
    }

    #[test]
    fn staff_record_stock_movements_of_the_right_sign_only() {
        assert!(MovementKind::Donation.allows(3));
        assert!(!MovementKind::StockIn.allows(-3));
        assert!(MovementKind::WriteOff.allows(-1));
        assert!(!MovementKind::WriteOff.allows(1));
        assert!(!MovementKind::Redemption.allows(-1));
    }

    #[test]
    fn a_pickup_token_names_its_order_and_resists_forgery() {
        let token = sign_pickup(SECRET, 4711);
        assert!(token.len() < 30, "{token}");
        assert_eq!(verify_pickup(SECRET, &token), Some(4711));
        assert_eq!(
            verify_pickup(b"another-secret-another-secret-!!", &token),
            None
        );
        let mut forged = token.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            verify_pickup(SECRET, std::str::from_utf8(&forged).unwrap()),
            None
        );
        assert_eq!(verify_pickup(SECRET, "4711"), None);
    }
}
