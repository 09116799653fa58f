//! The 积分银行卡: a printed card number with a check digit, and the signed, revocable token that
//! the card's QR code carries instead of the bare number.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Card numbers start with this issuer prefix (16 digits in all, printed in groups of four).
pub const CARD_PREFIX: &str = "8866";

/// The Luhn check digit of `digits` (the same scheme as bank cards: catches every single-digit
/// typo and most swaps of neighbouring digits).
pub fn luhn_digit(digits: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let mut d = c.to_digit(10)?;
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// The card number of a member: prefix, 11-digit member id, check digit.
pub fn card_number(member_id: i64) -> String {
    let body = format!("{CARD_PREFIX}{member_id:011}");
    let check = luhn_digit(&body).unwrap_or(0);
    format!("{body}{check}")
}

/// What the contract accepts wherever a card is presented: its QR token, or its 16-digit number,
/// optionally grouped in fours by one space or dash (as printed: `8866 0000 0000 0427`).
pub const PRESENTED_CARD_PATTERN: &str =
    r"^(c\.[0-9]{1,19}\.[0-9]{1,19}\.[A-Za-z0-9_-]{16}|[0-9]{4}([ -]?[0-9]{4}){3})$";

/// Reads a typed or scanned card number back to a member id: 16 digits, optionally grouped in
/// fours by one space or dash; nothing else around them.
pub fn parse_card_number(text: &str) -> Option<i64> {
    let mut digits = String::with_capacity(16);
    let mut rest = text.as_bytes();
    for group in 0..4 {
        let (four, after) = rest.split_at_checked(4)?;
        if !four.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits.extend(four.iter().map(|&b| b as char));
        rest = match after {
            [b' ' | b'-', tail @ ..] if group < 3 => tail,
            _ => after,
        };
    }
    if !rest.is_empty() || !digits.starts_with(CARD_PREFIX) {
        return None;
    }
    let (body, check) = digits.split_at(15);
    if luhn_digit(body)? != check.parse::<u8>().ok()? {
        return None;
    }
    body[CARD_PREFIX.len()..].parse().ok()
}

/// `8866 0000 0000 0427`
pub fn format_card_number(number: &str) -> String {
    number
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

type HmacSha256 = Hmac<Sha256>;

/// What a card token proves: this member, this issue of their card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardClaim {
    pub member_id: i64,
    /// Incremented when a card is re-issued; older tokens stop working.
    pub version: i64,
}

fn mac(secret: &[u8], claim: CardClaim) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("card|{}|{}", claim.member_id, claim.version).as_bytes());
    // 12 bytes (96 bits) of MAC keep the QR small and forgery hopeless.
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..12])
}

/// `c.<member>.<version>.<mac>`: short, so the QR code stays coarse and easy to scan.
pub fn sign_card(secret: &[u8], claim: CardClaim) -> String {
    format!(
        "c.{}.{}.{}",
        claim.member_id,
        claim.version,
        mac(secret, claim)
    )
}

/// Checks a scanned card token's signature. Whether its version is still current is up to the
/// caller (it is stored with the member).
pub fn verify_card(secret: &[u8], token: &str) -> Option<CardClaim> {
    let mut parts = token.split('.');
    let (Some("c"), Some(member), Some(version), Some(_), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let claim = CardClaim {
        member_id: member.parse().ok()?,
        version: version.parse().ok()?,
    };
    // The whole token must be the one we sign, so `c.+42.03.…` is no second spelling of it.
    // Constant-time comparison: no timing hints for forgers.
    let expected = sign_card(secret, claim);
    let same = expected.len() == token.len()
        && expected
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some(claim)
}

/// A card as staff present it: its scanned QR code (signed, with the card issue it was printed
/// for) or its typed number (no issue: a typo is caught by the check digit instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedCard {
    pub member_id: i64,
    version: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("not a card code or number of ours")]
    Invalid,
    #[error("a card replaced by a re-issue")]
    Revoked,
}

impl PresentedCard {
    pub fn read(secret: &[u8], text: &str) -> Result<PresentedCard, CardError> {
        if let Some(claim) = verify_card(secret, text) {
            return Ok(PresentedCard {
                member_id: claim.member_id,
                version: Some(claim.version),
            });
        }
        parse_card_number(text)
            .map(|member_id| PresentedCard {
                member_id,
                version: None,
            })
            .ok_or(CardError::Invalid)
    }

    /// A scanned code must be of the member's current card; a typed number always is.
    pub fn check_current(&self, card_version: i64) -> Result<(), CardError> {
        match self.version {
            Some(version) if version != card_version => Err(CardError::Revoked),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_carry_a_check_digit_that_catches_typos() {
        let number = card_number(427);
        assert_eq!(number.len(), 16);
        assert_eq!(parse_card_number(&number), Some(427));
        assert_eq!(parse_card_number(&format_card_number(&number)), Some(427));
        for position in 4..16 {
            let mut typo: Vec<u8> = number.clone().into_bytes();
            typo[position] = if typo[position] == b'9' {
                b'0'
            } else {
                typo[position] + 1
            };
            assert_eq!(
                parse_card_number(&String::from_utf8(typo).unwrap()),
                None,
                "typo at {position}"
            );
        }
        assert_eq!(parse_card_number("1234"), None);
        let grouped = format_card_number(&number);
        assert_eq!(parse_card_number(&grouped.replace(' ', "-")), Some(427));
        for near_miss in [
            format!(" {number}"),
            format!("{number} "),
            format!("{number}\n"),
            format!("{}  {}", &number[..4], &number[4..]),
            format!("-{number}"),
            format!("{number}0"),
            format!("{}--{}", &number[..4], &number[4..]),
        ] {
            assert_eq!(parse_card_number(&near_miss), None, "{near_miss:?}");
        }
    }

    #[test]
    fn card_tokens_are_signed_and_name_their_card_issue() {
        let secret = b"card-secret";
        let claim = CardClaim {
            member_id: 42,
            version: 3,
        };
        let token = sign_card(secret, claim);
        assert!(token.len() < 40, "{token}");
        assert_eq!(verify_card(secret, &token), Some(claim));
        assert_eq!(verify_card(b"other-secret", &token), None);
        let forged = token.replace("c.42.", "c.43.");
        assert_eq!(verify_card(secret, &forged), None);
        assert_eq!(verify_card(secret, "c.42.3"), None);
        assert_eq!(verify_card(secret, "garbage"), None);
        for respelled in [
            token.replace("c.42.", "c.+42."),
            token.replace("c.42.", "c.042."),
            token.replace(".3.", ".03."),
            format!(" {token}"),
            format!("{token}\n"),
        ] {
            assert_eq!(verify_card(secret, &respelled), None, "{respelled}");
        }
    }

    #[test]
    fn a_presented_card_is_its_current_qr_or_its_typed_number() {
        let secret = b"card-secret-card-secret-card-secret!";
        let qr = sign_card(
            secret,
            CardClaim {
                member_id: 42,
                version: 2,
            },
        );
        let scanned = PresentedCard::read(secret, &qr).unwrap();
        assert_eq!(scanned.member_id, 42);
        assert_eq!(scanned.check_current(2), Ok(()));
        assert_eq!(scanned.check_current(3), Err(CardError::Revoked));
        let typed = PresentedCard::read(secret, &format_card_number(&card_number(42))).unwrap();
        assert_eq!((typed.member_id, typed.check_current(3)), (42, Ok(())));
        let mut mistyped = card_number(42).into_bytes();
        mistyped[15] = if mistyped[15] == b'9' {
            b'0'
        } else {
            mistyped[15] + 1
        };
        let mistyped = String::from_utf8(mistyped).unwrap();
        assert_eq!(
            PresentedCard::read(secret, &mistyped),
            Err(CardError::Invalid)
        );
        assert_eq!(
            PresentedCard::read(secret, "c.42.2.forged"),
            Err(CardError::Invalid)
        );
    }
}
