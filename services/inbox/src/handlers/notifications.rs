//! The caller's notifications (written by the reminder): unread first, newest first within
//! each group; marking one read. Another user's notification answers 404, as if it did not
//! exist.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use relance_shared::http::openapi::{Forbidden, Invalid, NotFound, Unauthorized};
use relance_shared::http::{ApiError, ApiQuery, FieldError, PathId};

use crate::auth::CurrentUser;
use crate::state::AppState;
use relance_shared::valid::Id;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Notification {
    pub id: i64,
    /// `interaction_overdue`: a next action fell due; `assigned`: someone gave the item to the
    /// user; `changed`: someone else changed the user's item.
    pub kind: String,
    pub interaction_id: Option<i64>,
    pub title: String,
    /// Who assigned or changed the item (`assigned`, `changed`).
    pub by_name: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<Notification>,
    /// All the caller's unread notifications, beyond this page.
    pub unread: i64,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    params(ListParams), security(("bearer" = [])),
    responses(
        (status = 200, body = NotificationList),
        Unauthorized,
        Forbidden,
        Invalid,
    ))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<NotificationList>, ApiError> {
    let limit = match params.limit.as_deref() {
        None | Some("") => 50,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "limit",
                    "must be an integer from 1 to 200",
                )]))
            }
        },
    };
    let items = sqlx::query_as!(
        Notification,
        "SELECT id, kind, interaction_id, title, payload->>'by_name' AS by_name, due_at, \
         created_at, read_at FROM notifications WHERE user_id = $1 \
         ORDER BY read_at IS NOT NULL, created_at DESC, id DESC LIMIT $2",
        user.id,
        limit
    )
    .fetch_all(&state.pool);
    let unread = sqlx::query_scalar!(
        r#"SELECT count(*) AS "unread!" FROM notifications WHERE user_id = $1 AND read_at IS NULL"#,
        user.id
    )
    .fetch_one(&state.pool);
    let (items, unread) = futures::try_join!(items, unread)?;
    Ok(Json(NotificationList { items, unread }))
}

/// Marks one of the caller's notifications read (again: keeps the first read time).
#[utoipa::path(patch, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), security(("bearer" = [])),
    responses(
        (status = 200, body = Notification),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn mark_read(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Notification>, ApiError> {
    sqlx::query_as!(
        Notification,
        "UPDATE notifications SET read_at = COALESCE(read_at, now()) \
         WHERE id = $1 AND user_id = $2 \
         RETURNING id, kind, interaction_id, title, payload->>'by_name' AS by_name, due_at, \
                   created_at, read_at",
        id,
        user.id
    )
    .fetch_optional(&state.pool)
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::NotFound(format!("no notification {id} for you")))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadAll {
    /// Notifications this call marked read.
    pub marked: i64,
}

/// Marks every unread notification of the caller read (those read already keep their time).
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReadAll),
        Unauthorized,
        Forbidden,
    ))]
pub async fn read_all(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
) -> Result<Json<ReadAll>, ApiError> {
    let marked = sqlx::query!(
        "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL",
        user.id
    )
    .execute(&state.pool)
    .await?
    .rows_affected();
    Ok(Json(ReadAll {
        marked: i64::try_from(marked).unwrap_or(i64::MAX),
    }))
}
