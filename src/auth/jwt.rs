//! Access tokens: HS256 JWTs with issuer, audience and expiry checked and the algorithm pinned.

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

use crate::domain::access::Grant;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// `staff:<id>` or `member:<id>`.
    pub sub: String,
    /// `staff` or `member`.
    pub kind: String,
    /// Role grants with the subtree each covers; checked on every request.
    #[serde(default)]
    pub scopes: Vec<Grant>,
    /// Member tokens: when the WeChat binding they were issued for was made (µs). Undoing the
    /// binding (or binding anew) makes the token stop working at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<i64>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signing keys. Tokens name their key in the `kid` header, so the secret can be rotated: set the
/// new one as `PB_JWT_SECRET` and the old one as `PB_JWT_PREVIOUS_SECRET`, and tokens signed with
/// the old key keep working until they expire.
#[derive(Clone)]
pub struct TokenKeys {
    key_id: String,
    encoding: EncodingKey,
    /// (kid, key) of the current and, during a rotation, the previous secret.
    decoding: Vec<(String, DecodingKey)>,
    issuer: String,
    audience: String,
    pub ttl_seconds: i64,
}

/// A key id that names a secret without revealing it.
fn key_id(secret: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(secret)[..4])
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_seconds: i64) -> TokenKeys {
        TokenKeys {
            key_id: key_id(secret),
            encoding: EncodingKey::from_secret(secret),
            decoding: vec![(key_id(secret), DecodingKey::from_secret(secret))],
            issuer: issuer.into(),
            audience: audience.into(),
            ttl_seconds,
        }
    }

    /// Also accepts tokens signed with `previous` (never signs with it).
    pub fn accepting_previous(mut self, previous: &[u8]) -> TokenKeys {
        self.decoding
            .push((key_id(previous), DecodingKey::from_secret(previous)));
        self
    }

    pub fn issue(
        &self,
        sub: String,
        kind: &str,
        scopes: Vec<Grant>,
        now_seconds: i64,
    ) -> anyhow::Result<String> {
        self.sign(Claims {
            sub,
            kind: kind.into(),
            scopes,
            binding: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now_seconds,
            exp: now_seconds + self.ttl_seconds,
        })
    }

    /// A member access token, valid while the WeChat binding made at `bound_at` stands.
    pub fn issue_member(
        &self,
        member_id: i64,
        bound_at: i64,
        now_seconds: i64,
    ) -> anyhow::Result<String> {
        self.sign(Claims {
            sub: format!("member:{member_id}"),
            kind: "member".into(),
            scopes: vec![],
            binding: Some(bound_at),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now_seconds,
            exp: now_seconds + self.ttl_seconds,
        })
    }

    fn sign(&self, claims: Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.key_id.clone());
        Ok(encode(&header, &claims, &self.encoding)?)
    }

    /// Accepts only HS256 tokens of our issuer and audience, signed by a key we hold, that have
    /// not expired.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let kid = decode_header(token).ok()?.kid?;
        let (_, key) = self.decoding.iter().find(|(id, _)| *id == kid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        decode::<Claims>(token, key, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_another_secret_audience_or_past_expiry_are_refused() {
        let keys = TokenKeys::new(b"secret-one-that-is-long-enough!!", "pb", "api", 60);
        let now = chrono::Utc::now().timestamp();
        let token = keys.issue("staff:1".into(), "staff", vec![], now).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, "staff:1");

        let other = TokenKeys::new(b"another-secret-that-is-long-too!", "pb", "api", 60);
        assert!(other.verify(&token).is_none());
        let other_audience = TokenKeys::new(b"secret-one-that-is-long-enough!!", "pb", "web", 60);
        assert!(other_audience.verify(&token).is_none());
        let expired = keys
            .issue("staff:1".into(), "staff", vec![], now - 3600)
            .unwrap();
        assert!(keys.verify(&expired).is_none());
        assert!(keys.verify("not.a.token").is_none());
    }

    #[test]
    fn member_tokens_name_the_binding_they_were_issued_for() {
        let keys = TokenKeys::new(b"secret-one-that-is-long-enough!!", "pb", "api", 60);
        let now = chrono::Utc::now().timestamp();
        let claims = keys
            .verify(&keys.issue_member(7, 1234, now).unwrap())
            .unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.kind.as_str()),
            ("member:7", "member")
        );
        assert_eq!(claims.binding, Some(1234));
        let staff = keys.issue("staff:1".into(), "staff", vec![], now).unwrap();
        assert_eq!(keys.verify(&staff).unwrap().binding, None);
    }

    #[test]
    fn after_a_rotation_old_tokens_work_until_they_expire_and_new_ones_use_the_new_key() {
        let now = chrono::Utc::now().timestamp();
        let old = TokenKeys::new(b"the-old-secret-that-is-long-enough", "pb", "api", 60);
        let old_token = old.issue("staff:1".into(), "staff", vec![], now).unwrap();
        let rotated = TokenKeys::new(b"the-new-secret-that-is-long-enough", "pb", "api", 60)
            .accepting_previous(b"the-old-secret-that-is-long-enough");
        assert!(rotated.verify(&old_token).is_some());
        let new_token = rotated
            .issue("staff:1".into(), "staff", vec![], now)
            .unwrap();
        assert!(
            old.verify(&new_token).is_none(),
            "signed with the new key only"
        );
        let after = TokenKeys::new(b"the-new-secret-that-is-long-enough", "pb", "api", 60);
        assert!(
            after.verify(&old_token).is_none(),
            "dropped once the previous secret is removed"
        );
    }
}
