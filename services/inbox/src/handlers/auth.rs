//! Who is calling: development login, the current user, the users work can be assigned to and
//! the teams an inbox can be narrowed to.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use relance_shared::http::openapi::{BadJson, Forbidden, NotJsonMediaType, Unauthorized};
use relance_shared::http::{ApiError, ApiJson, FieldError};

use crate::auth::{AuthConfig, CurrentUser};
use crate::preferences::{self, Preferences, PreferencesChange};
use crate::state::AppState;
use relance_shared::http::openapi::Problem;
use relance_shared::valid::Id;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevLogin {
    pub user_id: Id,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct User {
    pub id: i64,
    pub full_name: String,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    /// What they may see and change: `rep`, `manager` (their teams too) or `admin`.
    pub role: relance_shared::directory::Role,
    pub preferences: Preferences,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    /// HS256 JWT; send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub token_type: &'static str,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

async fn active_user(state: &AppState, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "SELECT id, full_name, email FROM users WHERE id = $1 AND is_active",
        id
    )
    .fetch_optional(&state.pool)
    .await
}

/// A token for any active user, without a password: development and demos only
/// (`auth.dev_login`, on in `config/development.toml`). Off, the route answers 404.
#[utoipa::path(post, path = "/api/v1/auth/dev-login", tag = "auth",
    request_body = DevLogin,
    responses(
        BadJson,
        NotJsonMediaType,
        (status = 200, body = Token),
        (status = 404, description = "dev-login is off", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no such active user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn dev_login(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<DevLogin>,
) -> Result<Json<Token>, ApiError> {
    let Some(tokens) = state.tokens.as_ref().filter(|_| state.dev_login) else {
        return Err(ApiError::NotFound("dev-login is off".into()));
    };
    let user = active_user(&state, body.user_id.get())
        .await?
        .ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new(
                "user_id",
                format!("no active user with id {}", body.user_id.get()),
            )])
        })?;
    let now = state.clock.now();
    let ttl = Duration::seconds(state.token_ttl_secs);
    Ok(Json(Token {
        token: tokens.issue(user.id, now, ttl),
        token_type: "Bearer",
        expires_at: now + ttl,
        user,
    }))
}

/// The caller, with their notification preferences.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        Unauthorized,
        Forbidden,
        (status = 404, description = "the token's user no longer exists", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
) -> Result<Json<Me>, ApiError> {
    let gone = || ApiError::NotFound(format!("no active user with id {}", user.id));
    let (found, preferences) = futures::try_join!(
        active_user(&state, user.id),
        preferences::get(&state.pool, user.id, state.default_tz)
    )?;
    let (Some(found), Some(preferences)) = (found, preferences) else {
        return Err(gone());
    };
    Ok(Json(Me {
        user: found,
        role: user.caller.role,
        preferences,
    }))
}

/// Changes the caller's notification preferences: the fields given, all or none (a bad value
/// is a 422 naming it, and nothing changes).
#[utoipa::path(patch, path = "/api/v1/me/preferences", tag = "auth",
    request_body = PreferencesChange, security(("bearer" = [])),
    responses(
        (status = 200, body = Preferences),
        BadJson,
        Unauthorized,
        Forbidden,
        NotJsonMediaType,
        (status = 404, description = "the token's user no longer exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a value is invalid (each one named)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_preferences(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    ApiJson(change): ApiJson<PreferencesChange>,
) -> Result<Json<Preferences>, ApiError> {
    preferences::update(&state.pool, user.id, change, state.default_tz)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no active user with id {}", user.id)))
}

/// The active users the caller may assign work to, by name: themselves for a rep, the users
/// they manage for a manager, everyone for an admin (the web app's assignee menus).
#[utoipa::path(get, path = "/api/v1/users", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<User>),
        Unauthorized,
        Forbidden,
    ))]
pub async fn users(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
) -> Result<Json<Vec<User>>, ApiError> {
    let users = sqlx::query_as!(
        User,
        "SELECT id, full_name, email FROM users WHERE is_active ORDER BY full_name, id"
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        users
            .into_iter()
            .filter(|u| user.caller.may_assign_to(Some(u.id)))
            .collect(),
    ))
}

/// A team the caller may narrow their inbox to (`team=`), with its members.
#[derive(Debug, Serialize, ToSchema)]
pub struct Team {
    pub external_id: String,
    pub name: String,
    pub parent_external_id: Option<String>,
    /// Of the team and its sub-teams, that the caller sees (deactivated ones too: their items
    /// are still the team's), by name.
    pub members: Vec<Member>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub id: i64,
    pub full_name: String,
    pub is_active: bool,
}

/// The teams the caller may narrow their inbox to, by name: every team for an admin, those a
/// manager manages (theirs and their descendants), a rep's own (the web app's "Mon équipe").
#[utoipa::path(get, path = "/api/v1/teams", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Team>),
        Unauthorized,
        Forbidden,
    ))]
pub async fn teams(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
) -> Result<Json<Vec<Team>>, ApiError> {
    let ids: Vec<i64> = user
        .caller
        .teams
        .iter()
        .flat_map(|team| team.members.iter().copied())
        .collect();
    let people = sqlx::query!(
        "SELECT id, full_name, is_active FROM users WHERE id = ANY($1) ORDER BY full_name, id",
        &ids
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        user.caller
            .teams
            .iter()
            .map(|team| Team {
                external_id: team.external_id.clone(),
                name: team.name.clone(),
                parent_external_id: team.parent_external_id.clone(),
                members: people
                    .iter()
                    .filter(|p| team.members.binary_search(&p.id).is_ok())
                    .map(|p| Member {
                        id: p.id,
                        full_name: p.full_name.clone(),
                        is_active: p.is_active,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// How to sign in: dev-login (development) and the company's OpenID provider, when configured.
/// No token needed: the web app asks before anyone is signed in.
#[utoipa::path(get, path = "/api/v1/auth/config", tag = "auth",
    responses((status = 200, body = AuthConfig)))]
pub async fn config(State(state): State<Arc<AppState>>) -> Json<AuthConfig> {
    Json(state.auth_config.clone())
}
