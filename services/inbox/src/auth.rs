//! Inbox API authentication: HS256 JWT bearer tokens, claim `sub` = the user's id as a string,
//! `exp` required (docs/api.md). Only HS256 is accepted, whatever the token's header says, so
//! neither `alg: none` nor an algorithm switch gets through; `nbf` is honoured when present;
//! 30 seconds of clock skew are tolerated. Tokens are stateless: a token stays valid until it
//! expires, so keep lifetimes short (`auth.token_ttl_secs`).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use relance_shared::http::ApiError;

use crate::clock::Clock;

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
    #[error("`sub` must be a user id")]
    BadSubject,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
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
}

impl TokenKeys {
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(self.secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }

    /// A token for `user_id`, valid from `now` for `ttl`.
    pub fn issue(&self, user_id: i64, now: DateTime<Utc>, ttl: Duration) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = Claims {
            sub: user_id.to_string(),
            exp: (now + ttl).timestamp(),
            iat: Some(now.timestamp()),
            nbf: None,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The user id a valid token names.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<i64, TokenError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signing_input
            .split_once('.')
            .filter(|(_, payload)| !payload.contains('.'))
            .ok_or(TokenError::Malformed)?;
        let header: Header = decode_json(header)?;
        if header.alg != "HS256" {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = decode_json(payload)?;
        let now = now.timestamp();
        if now > claims.exp + LEEWAY_SECS {
            return Err(TokenError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| now + LEEWAY_SECS < nbf) {
            return Err(TokenError::NotYetValid);
        }
        match claims.sub.parse::<i64>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(TokenError::BadSubject),
        }
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// How the web app signs in: `GET /api/v1/auth/config` (no token needed).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuthConfig {
    /// `POST /api/v1/auth/dev-login` is on (development).
    pub dev_login: bool,
    /// The company's OpenID provider, when configured: the web app signs in there with code +
    /// PKCE.
    pub oidc: Option<OidcPublic>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OidcPublic {
    pub issuer: String,
    pub client_id: String,
    pub scopes: String,
}

impl AuthConfig {
    pub fn from_settings(auth: &relance_shared::config::AuthSettings) -> Self {
        let oidc = &auth.oidc;
        Self {
            dev_login: auth.dev_login && auth.jwt_secret.is_some(),
            oidc: match (&oidc.issuer, &oidc.client_id) {
                (Some(issuer), Some(client_id)) => Some(OidcPublic {
                    issuer: issuer.clone(),
                    client_id: client_id.clone(),
                    scopes: oidc.scopes.clone(),
                }),
                _ => None,
            },
        }
    }
}

/// The caller, from `Authorization: Bearer <jwt>`; 401 otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
}

/// What [`CurrentUser`] needs from the application state: the HS256 keys (when
/// `auth.jwt_secret` is set), the OpenID provider (when `auth.oidc.issuer` is), "now", and the
/// users.
#[derive(Clone)]
pub struct Verifier {
    pub tokens: Option<TokenKeys>,
    pub oidc: Option<std::sync::Arc<crate::oidc::Oidc>>,
    pub clock: Clock,
    pub pool: sqlx::PgPool,
}

impl Verifier {
    /// The user a bearer token names: HS256 tokens are checked with `auth.jwt_secret`, RS256
    /// and ES256 ones against the OpenID provider's keys; any other algorithm is refused.
    pub async fn user(&self, token: &str) -> Result<i64, ApiError> {
        let refused = |error: &dyn std::fmt::Display| {
            tracing::debug!(%error, "token refused");
            ApiError::Unauthorized
        };
        let alg = token
            .split('.')
            .next()
            .and_then(|header| decode_json::<Header>(header).ok())
            .map(|header| header.alg)
            .ok_or(ApiError::Unauthorized)?;
        match (alg.as_str(), &self.tokens, &self.oidc) {
            ("HS256", Some(tokens), _) => tokens
                .verify(token, self.clock.now())
                .map_err(|e| refused(&e)),
            ("RS256" | "ES256", _, Some(oidc)) => {
                let claims = oidc.verify(token).await.map_err(|e| refused(&e))?;
                crate::oidc::user_for(&self.pool, &claims)
                    .await?
                    .map_err(|no_user| ApiError::Forbidden(no_user.to_string()))
            }
            _ => Err(refused(&format!("{alg} tokens are not accepted"))),
        }
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or(ApiError::Unauthorized)?;
        let id = verifier.user(token.trim()).await?;
        tracing::Span::current().record("user_id", id);
        Ok(CurrentUser { id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(SecretString::from("a-secret-of-at-least-32-bytes-long!!"))
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn sign(keys: &TokenKeys, header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = keys.mac();
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
            (
                &sign(&keys, r#"{"alg":"none"}"#, r#"{"sub":"1","exp":2000000}"#),
                TokenError::UnsupportedAlgorithm,
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
}
