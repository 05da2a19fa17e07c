//! HS256 tokens: claim `sub` = the user's id as a string, `exp` required (docs/api.md), signed
//! with `auth.jwt_secret`. Only HS256 is accepted, whatever the token's header says, so neither
//! `alg: none` nor an algorithm switch gets through; `nbf` is honoured when present; 30 seconds
//! of clock skew are tolerated. Tokens are stateless: a token stays valid until it expires, so
//! keep lifetimes short (`auth.token_ttl_secs`).
//!
//! `jsonwebtoken` checks the signature and the algorithm; the times are checked here against
//! the inbox's clock (pinned in tests), not the system's.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT")]
    Malformed,
    #[error("only HS256 tokens are accepted")]
    UnsupportedAlgorithm,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token lives longer than auth.max_token_lifetime_secs")]
    LivesTooLong,
    #[error("`sub` must be a user id")]
    BadSubject,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Signs and verifies tokens with `auth.jwt_secret`.
#[derive(Clone)]
pub struct TokenKeys {
    secret: SecretString,
    /// The furthest `exp` may be from now (`auth.max_token_lifetime_secs`); `None`: any.
    max_lifetime: Option<Duration>,
}

impl TokenKeys {
    pub fn new(secret: SecretString) -> Self {
        Self {
            secret,
            max_lifetime: None,
        }
    }

    /// Refuses tokens whose `exp` is further than `max` from now (the service's setting).
    pub fn with_max_lifetime(self, max: Duration) -> Self {
        Self {
            max_lifetime: Some(max),
            ..self
        }
    }

    /// A token for `user_id`, valid from `now` for `ttl`.
    pub fn issue(&self, user_id: i64, now: DateTime<Utc>, ttl: Duration) -> String {
        let claims = Claims {
            sub: user_id.to_string(),
            exp: (now + ttl).timestamp(),
            iat: Some(now.timestamp()),
            nbf: None,
        };
        let key = EncodingKey::from_secret(self.secret.expose_secret().as_bytes());
        // HMAC signs any claims with any key: this cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap_or_default()
    }

    /// The user id a valid token names.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<i64, TokenError> {
        let key = DecodingKey::from_secret(self.secret.expose_secret().as_bytes());
        let mut validation = Validation::new(Algorithm::HS256);
        // Times against `now` below; `exp` must still be there.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    TokenError::UnsupportedAlgorithm
                }
                _ => TokenError::Malformed,
            })?
            .claims;
        let now = now.timestamp();
        if now > claims.exp.saturating_add(LEEWAY_SECS) {
            return Err(TokenError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(LEEWAY_SECS) < nbf)
        {
            return Err(TokenError::NotYetValid);
        }
        if self.max_lifetime.is_some_and(|max| {
            claims.exp
                > now
                    .saturating_add(max.num_seconds())
                    .saturating_add(LEEWAY_SECS)
        }) {
            return Err(TokenError::LivesTooLong);
        }
        match claims.sub.parse::<i64>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(TokenError::BadSubject),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn keys() -> TokenKeys {
        TokenKeys::new(SecretString::from("a-secret-of-at-least-32-bytes-long!!"))
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// A token of any header and claims, HMAC-SHA256 signed with `keys`' secret.
    fn sign(keys: &TokenKeys, header: &str, claims: &str) -> String {
        use hmac::{Hmac, Mac};
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(keys.secret.expose_secret().as_bytes())
                .unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let keys = keys();
        let token = keys.issue(42, at(1_000_000), Duration::hours(1));
        assert_eq!(keys.verify(&token, at(1_000_000)), Ok(42));
        assert_eq!(keys.verify(&token, at(1_003_600 + LEEWAY_SECS)), Ok(42));
        assert_eq!(
            keys.verify(&token, at(1_003_601 + LEEWAY_SECS)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn refusals() {
        let keys = keys();
        let now = at(1_000_000);
        let other = TokenKeys::new(SecretString::from("another-secret-of-32-bytes-or-more!!"));
        let cases = [
            ("", TokenError::Malformed),
            ("a.b", TokenError::Malformed),
            ("a.b.c.d", TokenError::Malformed),
            (
                &other.issue(1, now, Duration::hours(1)),
                TokenError::BadSignature,
            ),
            // `none` is no algorithm jsonwebtoken knows: the header itself is refused.
            (
                &sign(&keys, r#"{"alg":"none"}"#, r#"{"sub":"1","exp":2000000}"#),
                TokenError::Malformed,
            ),
            (
                &sign(&keys, r#"{"alg":"HS512"}"#, r#"{"sub":"1","exp":2000000}"#),
                TokenError::UnsupportedAlgorithm,
            ),
            (
                &sign(&keys, r#"{"alg":"HS256"}"#, r#"{"sub":"1"}"#),
                TokenError::Malformed,
            ),
            (
                &sign(
                    &keys,
                    r#"{"alg":"HS256"}"#,
                    r#"{"sub":"bob","exp":2000000}"#,
                ),
                TokenError::BadSubject,
            ),
            (
                &sign(&keys, r#"{"alg":"HS256"}"#, r#"{"sub":"0","exp":2000000}"#),
                TokenError::BadSubject,
            ),
            (
                &sign(
                    &keys,
                    r#"{"alg":"HS256"}"#,
                    r#"{"sub":"1","exp":2000000,"nbf":1500000}"#,
                ),
                TokenError::NotYetValid,
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(keys.verify(token, now), Err(expected), "{token}");
        }
        // A token signed with the right key but tampered with afterwards.
        let token = keys.issue(1, now, Duration::hours(1));
        let (rest, sig) = token.rsplit_once('.').unwrap();
        let (header, _) = rest.split_once('.').unwrap();
        let forged = format!(
            "{header}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(r#"{"sub":"2","exp":2000000}"#)
        );
        assert_eq!(keys.verify(&forged, now), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_token_living_longer_than_the_bound_is_refused_even_at_the_largest_exp() {
        let keys = keys().with_max_lifetime(Duration::hours(24));
        let now = at(1_000_000);
        assert_eq!(
            keys.verify(&keys.issue(7, now, Duration::hours(24)), now),
            Ok(7)
        );
        assert_eq!(
            keys.verify(&keys.issue(7, now, Duration::hours(25)), now),
            Err(TokenError::LivesTooLong)
        );
        // The year 9999, and the largest `exp` JSON can say: refused, no overflow.
        for exp in ["253402300799", "9223372036854775807"] {
            let token = sign(
                &keys,
                r#"{"alg":"HS256"}"#,
                &format!(r#"{{"sub":"7","exp":{exp}}}"#),
            );
            assert_eq!(keys.verify(&token, now), Err(TokenError::LivesTooLong));
        }
    }
}
