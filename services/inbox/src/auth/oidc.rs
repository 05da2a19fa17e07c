//! Sign-in with the company's OpenID provider: access tokens verified against the keys it
//! publishes, and the Relance user they name.
//!
//! - Keys: the discovery document (`<issuer>/.well-known/openid-configuration`) names the
//!   `jwks_uri`; the key set is fetched once and cached by `kid`. A token naming a `kid` not in
//!   the cache refetches the set (the provider rotated its keys: no restart needed), at most
//!   once every `auth.oidc.jwks_min_refresh_secs`, so forged `kid`s cannot make Relance hammer
//!   the provider.
//! - Only RS256 and ES256, and a key's own algorithm (an RSA key never checks an ES256 token);
//!   `iss` must be the issuer, `aud` must hold the audience, `exp` is required (30 s leeway).
//!   The signature checks are `jsonwebtoken`'s.
//! - The user: the one whose `oidc_subject` is `sub`; else the active user whose email is the
//!   token's `email` (case-insensitive; not when `email_verified` is false), then linked to that
//!   `sub`. Nobody, or a deactivated user: 403.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::{Mutex, RwLock};

use relance_shared::config::OidcSettings;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("not a JWT the provider signs: {0}")]
    Token(String),
    #[error("only RS256 and ES256 tokens are accepted from the provider")]
    UnsupportedAlgorithm,
    #[error("no provider key {0}")]
    UnknownKey(String),
    #[error("the provider's keys cannot be fetched: {0}")]
    Provider(String),
}

/// What Relance reads of an access token.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcClaims {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
}

struct Keys {
    jwks_uri: Option<String>,
    by_kid: HashMap<String, (DecodingKey, Algorithm)>,
}

pub struct Oidc {
    issuer: String,
    audience: String,
    http: reqwest::Client,
    keys: RwLock<Keys>,
    last_refresh: Mutex<Option<Instant>>,
    min_refresh: Duration,
}

impl Oidc {
    /// `None` when no issuer is configured.
    pub fn from_settings(settings: &OidcSettings) -> Result<Option<Self>, reqwest::Error> {
        let (Some(issuer), Some(audience)) = (&settings.issuer, &settings.audience) else {
            return Ok(None);
        };
        Ok(Some(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            keys: RwLock::new(Keys {
                jwks_uri: None,
                by_kid: HashMap::new(),
            }),
            last_refresh: Mutex::new(None),
            min_refresh: Duration::from_secs(settings.jwks_min_refresh_secs),
        }))
    }

    /// The claims of a token the provider signed for this audience.
    pub async fn verify(&self, token: &str) -> Result<OidcClaims, OidcError> {
        let header = decode_header(token).map_err(|e| OidcError::Token(e.to_string()))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(OidcError::UnsupportedAlgorithm);
        }
        let kid = header
            .kid
            .ok_or_else(|| OidcError::Token("no `kid` in the header".into()))?;
        let (key, algorithm) = self.key(&kid).await?;
        if algorithm != header.alg {
            return Err(OidcError::UnsupportedAlgorithm);
        }
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer, &format!("{}/", self.issuer)]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        decode::<OidcClaims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| OidcError::Token(e.to_string()))
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), OidcError> {
        if let Some(found) = self.keys.read().await.by_kid.get(kid) {
            return Ok(found.clone());
        }
        {
            // One refetch at a time, and not more often than min_refresh.
            let mut last = self.last_refresh.lock().await;
            if let Some(found) = self.keys.read().await.by_kid.get(kid) {
                return Ok(found.clone());
            }
            if last.is_some_and(|at| at.elapsed() < self.min_refresh) {
                return Err(OidcError::UnknownKey(kid.to_owned()));
            }
            *last = Some(Instant::now());
            self.refresh().await?;
        }
        self.keys
            .read()
            .await
            .by_kid
            .get(kid)
            .cloned()
            .ok_or_else(|| OidcError::UnknownKey(kid.to_owned()))
    }

    async fn refresh(&self) -> Result<(), OidcError> {
        let provider = |e: reqwest::Error| OidcError::Provider(e.to_string());
        let jwks_uri = match self.keys.read().await.jwks_uri.clone() {
            Some(uri) => uri,
            None => {
                #[derive(Deserialize)]
                struct Discovery {
                    jwks_uri: String,
                }
                let url = format!("{}/.well-known/openid-configuration", self.issuer);
                let discovery: Discovery = self
                    .http
                    .get(url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(provider)?
                    .json()
                    .await
                    .map_err(provider)?;
                discovery.jwks_uri
            }
        };
        let set: JwkSet = self
            .http
            .get(&jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(provider)?
            .json()
            .await
            .map_err(provider)?;
        let mut by_kid = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = &jwk.common.key_id else {
                continue;
            };
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                _ => continue, // other key types sign nothing Relance accepts
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    by_kid.insert(kid.clone(), (key, algorithm));
                }
                Err(error) => tracing::warn!(%error, kid, "provider key not usable"),
            }
        }
        tracing::info!(keys = by_kid.len(), "OpenID provider keys fetched");
        *self.keys.write().await = Keys {
            jwks_uri: Some(jwks_uri),
            by_kid,
        };
        Ok(())
    }
}

/// Why a valid token names no Relance user.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoUser {
    #[error("no Relance user for this sign-in")]
    Unknown,
    #[error("this Relance user is deactivated")]
    Deactivated,
}

/// The Relance user a provider's token names (see the module above).
pub async fn user_for(
    pool: &PgPool,
    claims: &OidcClaims,
) -> Result<Result<i64, NoUser>, sqlx::Error> {
    if let Some(user) = sqlx::query!(
        "SELECT id, is_active FROM users WHERE oidc_subject = $1",
        claims.sub
    )
    .fetch_optional(pool)
    .await?
    {
        return Ok(if user.is_active {
            Ok(user.id)
        } else {
            Err(NoUser::Deactivated)
        });
    }
    let Some(email) = claims
        .email
        .as_deref()
        .filter(|_| claims.email_verified != Some(false))
    else {
        return Ok(Err(NoUser::Unknown));
    };
    let found = sqlx::query!(
        "SELECT id, is_active, oidc_subject FROM users WHERE lower(email) = lower($1)",
        email
    )
    .fetch_optional(pool)
    .await?;
    Ok(match found {
        None => Err(NoUser::Unknown),
        Some(user) if !user.is_active => Err(NoUser::Deactivated),
        // Linked to another subject already: not this sign-in's user.
        Some(user) if user.oidc_subject.is_some() => Err(NoUser::Unknown),
        Some(user) => {
            sqlx::query!(
                "UPDATE users SET oidc_subject = $2, updated_at = now()
                 WHERE id = $1 AND oidc_subject IS NULL",
                user.id,
                claims.sub
            )
            .execute(pool)
            .await?;
            Ok(user.id)
        }
    })
}
