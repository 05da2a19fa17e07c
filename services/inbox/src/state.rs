//! What the inbox's handlers share, and the parts extractors take from it.

use std::sync::Arc;

use axum::extract::FromRef;
use chrono_tz::Tz;
use sqlx::PgPool;

use crate::auth::oidc::Oidc;
use crate::auth::{AuthConfig, TokenKeys, Verifier};
use crate::clock::Clock;
use crate::directory::DirectoryAccess;
use crate::leads::HeatLevels;
use crate::live::sse::Live;
use crate::scope::Callers;

pub struct AppState {
    pub pool: PgPool,
    /// HS256 tokens (`auth.jwt_secret`): development and tokens the CRM mints.
    pub tokens: Option<TokenKeys>,
    /// The company's OpenID provider (`auth.oidc.*`).
    pub oidc: Option<Arc<Oidc>>,
    /// What `GET /api/v1/auth/config` tells the web app.
    pub auth_config: AuthConfig,
    pub clock: Clock,
    pub default_tz: Tz,
    pub dev_login: bool,
    pub token_ttl_secs: i64,
    pub live: Live,
    /// The hot-lead threshold and heat levels (`scoring.rules`).
    pub heat: HeatLevels,
    pub directory: DirectoryAccess,
    /// `inbox.exact_total_limit`: a search's totals stop counting past it.
    pub exact_total_limit: i64,
    /// Signed-in users' roles and scopes, cached ([`crate::scope`]).
    pub callers: Arc<Callers>,
    /// The CSV exports each user runs (`inbox.max_exports_per_user`) and how long one waits
    /// for a client that stopped reading (`inbox.export_stall_secs`).
    pub exports: crate::csv_export::ExportLimits,
    /// The searches each user runs at once (`inbox.max_searches_per_user`).
    pub searches: crate::slots::Searches,
    /// A hot lead's deadline when it is reassigned (`sla.hot_lead_minutes`).
    pub sla: crate::sla::SlaClock,
}

impl FromRef<Arc<AppState>> for DirectoryAccess {
    fn from_ref(state: &Arc<AppState>) -> Self {
        state.directory.clone()
    }
}

impl FromRef<Arc<AppState>> for Verifier {
    fn from_ref(state: &Arc<AppState>) -> Self {
        Verifier {
            tokens: state.tokens.clone(),
            oidc: state.oidc.clone(),
            clock: state.clock,
            pool: state.pool.clone(),
            callers: state.callers.clone(),
        }
    }
}

impl FromRef<Arc<AppState>> for Live {
    fn from_ref(state: &Arc<AppState>) -> Self {
        state.live.clone()
    }
}
