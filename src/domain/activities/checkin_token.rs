//! The short signed tokens inside activity QR codes.
//!
//! A token is 18–22 bytes, base64url (about 24–30 characters), so that with the URL prefix the
//! QR code stays low-density and scans across a room: a kind-and-purpose byte, the activity id
//! and a counter as LEB128 varints, then the first 10 bytes of an HMAC-SHA256 over the rest.
//! - *dynamic*: the counter is the time step (unix seconds / step length); a screen shows a new
//!   token every step, so a photo of it is useless a minute later.
//! - *poster*: the counter is the activity's poster version; raising it voids printed posters.

use crate::domain::access::signed_token::{put_varint, take_varint, TokenSigner};
use crate::domain::activities::activity::Purpose;

const DOMAIN: &[u8] = b"pointsbank-checkin-v1";
/// Longer input is not a token of ours; refused before any decoding work.
pub const MAX_TOKEN_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Dynamic,
    Poster,
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckinToken {
    pub kind: TokenKind,
    pub purpose: Purpose,
    pub activity_id: i64,
    /// The time step (dynamic) or poster version (poster).
    pub counter: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a check-in token of this service")]
    Invalid,
}

/// Signs and reads check-in tokens with one secret.
#[derive(Clone)]
pub struct CheckinSigner {
    signer: TokenSigner,
    /// `<PB_QR_BASE_URL>/q/`: the only link a scanned token may come wrapped in.
    link_prefix: Option<String>,
}

impl CheckinSigner {
    pub fn new(secret: &[u8]) -> CheckinSigner {
        CheckinSigner {
            signer: TokenSigner::new(secret, DOMAIN),
            link_prefix: None,
        }
    }

    /// Accepts scanned links to `<base_url>/q/<token>` (and still the bare token). A real token
    /// inside any other link is refused, so a phishing poster cannot borrow genuine codes.
    pub fn accepting_links_to(mut self, base_url: &str) -> CheckinSigner {
        self.link_prefix = Some(format!("{}/q/", base_url.trim_end_matches('/')));
        self
    }

    pub fn sign(&self, token: CheckinToken) -> String {
        let mut bytes = Vec::with_capacity(24);
        let kind_bit = match token.kind {
            TokenKind::Dynamic => 0,
            TokenKind::Poster => 2,
        };
        let purpose_bit = match token.purpose {
            Purpose::CheckIn => 0,
            Purpose::CheckOut => 1,
        };
        bytes.push(kind_bit | purpose_bit);
        put_varint(&mut bytes, token.activity_id as u64);
        put_varint(&mut bytes, token.counter);
        self.signer.seal(bytes)
    }

    /// Reads a bare token, or the scanned link `<base_url>/q/<token>` of `accepting_links_to`.
    pub fn verify(&self, scanned: &str) -> Result<CheckinToken, TokenError> {
        if scanned.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Invalid);
        }
        let text = match &self.link_prefix {
            Some(prefix) if scanned.contains("/q/") => scanned
                .strip_prefix(prefix.as_str())
                .ok_or(TokenError::Invalid)?,
            _ => scanned,
        };
        let body = self.signer.open(text).ok_or(TokenError::Invalid)?;
        let (&flags, rest) = body.split_first().ok_or(TokenError::Invalid)?;
        if flags > 3 {
            return Err(TokenError::Invalid);
        }
        let kind = match flags & 2 {
            0 => TokenKind::Dynamic,
            _ => TokenKind::Poster,
        };
        let purpose = match flags & 1 {
            0 => Purpose::CheckIn,
            _ => Purpose::CheckOut,
        };
        let (activity_id, rest) = take_varint(rest).ok_or(TokenError::Invalid)?;
        let (counter, rest) = take_varint(rest).ok_or(TokenError::Invalid)?;
        if !rest.is_empty() || activity_id > i64::MAX as u64 {
            return Err(TokenError::Invalid);
        }
        Ok(CheckinToken {
            kind,
            purpose,
            activity_id: activity_id as i64,
            counter,
        })
    }
}

/// The time step of a dynamic QR at `now` (microseconds).
pub fn time_step(now_micros: i64, step_seconds: i64) -> u64 {
    (now_micros.max(0) / 1_000_000 / step_seconds.max(1)) as u64
}

/// A dynamic token is good in its own step and the steps either side (clock skew, scan delay).
pub fn step_is_current(token_step: u64, now_step: u64) -> bool {
    token_step.abs_diff(now_step) <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> CheckinSigner {
        CheckinSigner::new(b"card-secret-card-secret-card-secret!")
    }

    fn token(kind: TokenKind, purpose: Purpose) -> CheckinToken {
        CheckinToken {
            kind,
            purpose,
            activity_id: 123_456,
            counter: 88_200_000,
        }
    }

    #[test]
    fn a_signed_token_reads_back_as_itself() {
        for kind in [TokenKind::Dynamic, TokenKind::Poster] {
            for purpose in [Purpose::CheckIn, Purpose::CheckOut] {
                let original = token(kind, purpose);
                let text = signer().sign(original);
                assert_eq!(signer().verify(&text), Ok(original));
                let url = format!("https://jfyh.example.cn/q/{text}");
                let linked = signer().accepting_links_to("https://jfyh.example.cn/");
                assert_eq!(linked.verify(&url), Ok(original));
                assert_eq!(linked.verify(&text), Ok(original));
            }
        }
    }

    #[test]
    fn a_genuine_token_in_a_link_to_another_host_is_refused() {
        let text = signer().sign(token(TokenKind::Poster, Purpose::CheckIn));
        let linked = signer().accepting_links_to("https://jfyh.example.cn");
        for borrowed in [
            format!("https://evil.example/q/{text}"),
            format!("https://jfyh.example.cn.evil.example/q/{text}"),
            format!("http://jfyh.example.cn/q/{text}"),
            format!("https://jfyh.example.cn/x/q/{text}"),
            format!(" {text}"),
            format!("{text}\n"),
        ] {
            assert_eq!(
                linked.verify(&borrowed),
                Err(TokenError::Invalid),
                "{borrowed}"
            );
        }
        assert_eq!(
            signer().verify(&format!("https://jfyh.example.cn/q/{text}")),
            Err(TokenError::Invalid),
            "without a configured base, links are refused"
        );
    }

    #[test]
    fn tokens_are_short_enough_for_a_low_density_qr() {
        let text = signer().sign(CheckinToken {
            activity_id: i64::MAX,
            counter: u64::MAX,
            ..token(TokenKind::Dynamic, Purpose::CheckIn)
        });
        assert!(text.len() <= 44, "{} chars", text.len());
        let typical = signer().sign(token(TokenKind::Dynamic, Purpose::CheckIn));
        assert!(typical.len() <= 26, "{} chars", typical.len());
    }

    #[test]
    fn any_change_to_a_token_is_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let text = signer().sign(token(TokenKind::Dynamic, Purpose::CheckIn));
        let bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        for i in 0..bytes.len() {
            let mut forged = bytes.clone();
            forged[i] ^= 1;
            assert_eq!(
                signer().verify(&URL_SAFE_NO_PAD.encode(&forged)),
                Err(TokenError::Invalid)
            );
        }
        let other = CheckinSigner::new(b"another-secret-another-secret-!!");
        assert_eq!(other.verify(&text), Err(TokenError::Invalid));
        for junk in ["", "abc", "!!!!", &"A".repeat(500)] {
            assert_eq!(signer().verify(junk), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn a_dynamic_token_lives_for_its_step_and_the_steps_beside_it() {
        assert_eq!(time_step(40_000_000, 20), 2);
        assert!(step_is_current(10, 11));
        assert!(step_is_current(10, 9));
        assert!(!step_is_current(10, 12));
    }
}
