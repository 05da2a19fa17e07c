//! Inbox API authentication, one verifier for every token, on `jsonwebtoken`:
//! - HS256 tokens signed with `auth.jwt_secret` (development, tokens the CRM mints): [`hs256`];
//! - RS256 and ES256 access tokens of the company's OpenID provider: [`oidc`].
//!
//! The token's header picks the path; any other algorithm is refused, and neither path trusts
//! the header beyond that (each pins its algorithms). [`CurrentUser`] is the extractor every
//! handler takes.

pub mod hs256;
pub mod oidc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use serde::Serialize;

use relance_shared::http::ApiError;

use std::sync::Arc;

use crate::clock::Clock;
use crate::scope::{Caller, Callers, Scope};
pub use hs256::{Claims, TokenError, TokenKeys};

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

/// The caller, from `Authorization: Bearer <jwt>`, with their role and scope as the directory
/// says now: 401 without a valid token or when the user is unknown or deactivated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
    pub caller: Arc<Caller>,
}

impl CurrentUser {
    pub fn scope(&self) -> &Scope {
        &self.caller.scope
    }
}

/// What [`CurrentUser`] needs from the application state: the HS256 keys (when
/// `auth.jwt_secret` is set), the OpenID provider (when `auth.oidc.issuer` is), "now", and the
/// users.
#[derive(Clone)]
pub struct Verifier {
    pub tokens: Option<TokenKeys>,
    pub oidc: Option<std::sync::Arc<oidc::Oidc>>,
    pub clock: Clock,
    pub pool: sqlx::PgPool,
    pub callers: Arc<Callers>,
}

impl Verifier {
    /// The user a bearer token names: HS256 tokens are checked with `auth.jwt_secret`, RS256
    /// and ES256 ones against the OpenID provider's keys; any other algorithm is refused.
    pub async fn user(&self, token: &str) -> Result<i64, ApiError> {
        let refused = |error: &dyn std::fmt::Display| {
            tracing::debug!(%error, "token refused");
            ApiError::Unauthorized
        };
        use jsonwebtoken::Algorithm;
        let alg = jsonwebtoken::decode_header(token)
            .map_err(|e| refused(&e))?
            .alg;
        match (alg, &self.tokens, &self.oidc) {
            (Algorithm::HS256, Some(tokens), _) => tokens
                .verify(token, self.clock.now())
                .map_err(|e| refused(&e)),
            (Algorithm::RS256 | Algorithm::ES256, _, Some(oidc)) => {
                let claims = oidc.verify(token).await.map_err(|e| refused(&e))?;
                oidc::user_for(&self.pool, &claims)
                    .await?
                    .map_err(|no_user| ApiError::Forbidden(no_user.to_string()))
            }
            _ => Err(refused(&format!("{alg:?} tokens are not accepted"))),
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
        let caller = verifier
            .callers
            .get(&verifier.pool, id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(CurrentUser { id, caller })
    }
}
