//! Short signed tokens for QR codes: a small binary body followed by a truncated HMAC-SHA256,
//! base64url-encoded. Each kind of token uses its own key derived from one secret, so a token of
//! one kind is never accepted as another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// 80 bits: forging one needs on the order of 2^79 online guesses.
const MAC_BYTES: usize = 10;

#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
}

impl TokenSigner {
    /// A signer for one kind of token (`domain`, e.g. `b"pointsbank-checkin-v1"`).
    pub fn new(secret: &[u8], domain: &[u8]) -> TokenSigner {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any size");
        mac.update(domain);
        TokenSigner {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    pub fn seal(&self, mut body: Vec<u8>) -> String {
        let mac = self.mac(&body);
        body.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(body)
    }

    /// The body of a token this signer sealed, or `None` for anything else.
    pub fn open(&self, text: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        if bytes.len() <= MAC_BYTES {
            return None;
        }
        let (body, mac) = bytes.split_at(bytes.len() - MAC_BYTES);
        constant_time_eq(&self.mac(body), mac).then(|| body.to_vec())
    }

    fn mac(&self, body: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any size");
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// LEB128: small numbers take one byte.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub fn take_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}
