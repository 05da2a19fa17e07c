//! The workflow inbox: the list and its stats, one interaction, the one-click PATCHes, bulk
//! edits and the CSV export.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use relance_shared::http::openapi::{
    BadJson, Forbidden, Invalid, NotFound, NotJsonMediaType, TooMany, Unauthorized,
};
use relance_shared::http::{ApiError, ApiJson, ApiQuery, PathId};

use crate::auth::CurrentUser;
use crate::bulk::{self, BulkRequest, BulkResult};
use crate::csv_export::{self, CsvLine, CsvRow};
use crate::cursor::{self, Position};
use crate::filters::{self, PageParams, ScopeParams, SearchParams, StatusParams};
use crate::history;
use crate::interactions::{
    self, Change, Interaction, InteractionEdit, InteractionStatus, NewInteraction,
};
use crate::query::{self, Stats};
use crate::search;
use crate::state::AppState;
use relance_shared::http::openapi::Problem;
use relance_shared::valid::Id;

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxPage {
    pub items: Vec<Interaction>,
    /// Rows matching the filters, over all pages; with `q`, counted up to
    /// `inbox.exact_total_limit` (see `total_is_lower_bound`).
    pub total: i64,
    /// True when a search matched more than `inbox.exact_total_limit` rows: `total` is that
    /// limit and the real count is higher ("10 000+").
    pub total_is_lower_bound: bool,
    pub limit: i64,
    /// Pass it back as `cursor` for the next page; `null` on the last page.
    pub cursor: Option<String>,
}

/// The inbox, in order `next_action_at ASC NULLS LAST, created_at DESC, id DESC`, a page at a
/// time (keyset cursor).
#[utoipa::path(get, path = "/api/v1/interactions/inbox", tag = "inbox",
    params(ScopeParams, StatusParams, SearchParams, PageParams), security(("bearer" = [])),
    responses(
        (status = 200, body = InboxPage),
        Unauthorized,
        Forbidden,
        (status = 422, description = "a parameter is invalid (each one named)", body = Problem, content_type = "application/problem+json"),
        TooMany,
    ))]
pub async fn inbox(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    ApiQuery(scope): ApiQuery<ScopeParams>,
    ApiQuery(status): ApiQuery<StatusParams>,
    ApiQuery(search): ApiQuery<SearchParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<InboxPage>, ApiError> {
    let mut errors = Vec::new();
    let filter = filters::resolve(
        &scope,
        Some(&status),
        Some(&search),
        &user.caller,
        state.default_tz,
        state.clock.now(),
        &mut errors,
    );
    let limit = filters::limit(&page, &mut errors);
    let fingerprint = filter.as_ref().map(|f| f.fingerprint()).unwrap_or_default();
    let after = match page.cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => cursor::decode(raw, &fingerprint)
            .map_err(|e| errors.push(e))
            .ok(),
    };
    let mut filter = filters::into_result(filter, errors)?;
    let turn = state.searches.turn(user.id, &filter.refine.words).await?;
    search::resolve_words(&state.pool, &mut filter).await?;
    let ((items, more), total) = if turn.is_some() {
        // A search, one statement after the other: a user's search then takes one core at a
        // time, however costly its words (its turn bounds the rest).
        let page = query::page(&state.pool, &filter, after.as_ref(), limit).await?;
        (
            page,
            query::total(&state.pool, &filter, state.exact_total_limit).await?,
        )
    } else {
        futures::try_join!(
            query::page(&state.pool, &filter, after.as_ref(), limit),
            query::total(&state.pool, &filter, state.exact_total_limit),
        )?
    };
    let cursor = match items.last() {
        Some(last) if more => Some(cursor::encode(
            Position {
                next_action_at: last.next_action_at,
                created_at: last.created_at,
                id: last.id,
            },
            &fingerprint,
        )),
        _ => None,
    };
    Ok(Json(InboxPage {
        items,
        total: total.count,
        total_is_lower_bound: total.lower_bound,
        limit,
        cursor,
    }))
}

/// Counts by status for the stats cards, over the same filters as the inbox but `status`.
#[utoipa::path(get, path = "/api/v1/interactions/inbox/stats", tag = "inbox",
    params(ScopeParams, SearchParams), security(("bearer" = [])),
    responses(
        (status = 200, body = Stats),
        Unauthorized,
        Forbidden,
        Invalid,
        TooMany,
    ))]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    ApiQuery(scope): ApiQuery<ScopeParams>,
    ApiQuery(search): ApiQuery<SearchParams>,
) -> Result<Json<Stats>, ApiError> {
    let mut errors = Vec::new();
    let filter = filters::resolve(
        &scope,
        None,
        Some(&search),
        &user.caller,
        state.default_tz,
        state.clock.now(),
        &mut errors,
    );
    let mut filter = filters::into_result(filter, errors)?;
    let _turn = state.searches.turn(user.id, &filter.refine.words).await?;
    search::resolve_words(&state.pool, &mut filter).await?;
    Ok(Json(
        query::stats(&state.pool, &filter, state.exact_total_limit).await?,
    ))
}

impl CsvRow for Interaction {
    const HEADER: &'static [&'static str] = &[
        "id",
        "type",
        "title",
        "status",
        "next_action_at",
        "assignee_id",
        "assignee_name",
        "person_id",
        "person_name",
        "organisation_id",
        "organisation_name",
        "created_at",
        "updated_at",
    ];

    fn write(&self, tz: Tz, line: &mut CsvLine) {
        line.number(Some(self.id));
        line.text(Some(self.kind.as_str()));
        line.text(Some(&self.title));
        line.text(Some(self.status.as_str()));
        line.time(self.next_action_at, tz);
        line.number(self.assignee_id);
        line.text(self.assignee_name.as_deref());
        line.number(self.person_id);
        line.text(self.person_name.as_deref());
        line.number(self.organisation_id);
        line.text(self.organisation_name.as_deref());
        line.time(Some(self.created_at), tz);
        line.time(Some(self.updated_at), tz);
    }
}

/// Every row of the inbox for these filters, as CSV (header row, inbox order, times in `tz`),
/// streamed.
#[utoipa::path(get, path = "/api/v1/interactions/inbox/export", tag = "inbox",
    params(ScopeParams, StatusParams, SearchParams), security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        Unauthorized,
        Forbidden,
        Invalid,
        TooMany,
    ))]
pub async fn export(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    ApiQuery(scope): ApiQuery<ScopeParams>,
    ApiQuery(status): ApiQuery<StatusParams>,
    ApiQuery(search): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let filter = filters::resolve(
        &scope,
        Some(&status),
        Some(&search),
        &user.caller,
        state.default_tz,
        state.clock.now(),
        &mut errors,
    );
    let mut filter = filters::into_result(filter, errors)?;
    search::resolve_words(&state.pool, &mut filter).await?;
    let slot = state.exports.take(user.id)?;
    let tz = filter.tz;
    csv_export::stream(
        state.pool.clone(),
        csv_export::InboxPages(filter),
        tz,
        "relance-inbox.csv",
        (slot, state.exports.stall),
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/interactions/{id}", tag = "interactions",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), security(("bearer" = [])),
    responses(
        (status = 200, body = Interaction),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Interaction>, ApiError> {
    Ok(Json(
        interactions::get_in_scope(&state.pool, user.scope(), id).await?,
    ))
}

/// Who changed what on an interaction, newest first (the last 500 changes).
#[utoipa::path(get, path = "/api/v1/interactions/{id}/history", tag = "interactions",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<history::Change>),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn history(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Vec<history::Change>>, ApiError> {
    interactions::get_in_scope(&state.pool, user.scope(), id).await?;
    Ok(Json(history::of(&state.pool, id).await?))
}

/// Changes an interaction's title, description or type: the fields given, at least one.
#[utoipa::path(patch, path = "/api/v1/interactions/{id}", tag = "interactions",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), request_body = InteractionEdit, security(("bearer" = [])),
    responses(
        BadJson,
        NotJsonMediaType,
        (status = 200, body = Interaction),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn edit(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiJson(body): ApiJson<InteractionEdit>,
) -> Result<Json<Interaction>, ApiError> {
    Ok(Json(
        interactions::edit(&state.pool, &user.caller, id, body).await?,
    ))
}

/// Creates an interaction authored by the caller; 201 with its `Location`.
#[utoipa::path(post, path = "/api/v1/interactions", tag = "interactions",
    request_body = NewInteraction, security(("bearer" = [])),
    responses(
        (status = 201, body = Interaction),
        BadJson,
        Unauthorized,
        Forbidden,
        NotJsonMediaType,
        Invalid,
    ))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    ApiJson(body): ApiJson<NewInteraction>,
) -> Result<Response, ApiError> {
    let created = interactions::create(&state.pool, &user.caller, body).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/interactions/{}", created.id))
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: InteractionStatus,
}

/// Required but nullable: `{"assignee_id": null}` unassigns, `{}` is refused.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssigneeChange {
    /// An active user's id, or `null` to unassign.
    #[serde(deserialize_with = "nullable")]
    #[schema(required = true)]
    pub assignee_id: Option<Id>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextActionChange {
    /// RFC 3339 with an offset (`2026-06-10T09:00:00+02:00`), or `null` for none. Resets
    /// `notified_at`, so the reminder fires again for the new time.
    #[serde(deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>, required = true)]
    pub next_action_at: Option<DateTime<FixedOffset>>,
}

/// Marks an interaction todo, in progress or done.
#[utoipa::path(patch, path = "/api/v1/interactions/{id}/status", tag = "interactions",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), request_body = StatusChange, security(("bearer" = [])),
    responses(
        BadJson,
        NotJsonMediaType,
        (status = 200, body = Interaction),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn set_status(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiJson(body): ApiJson<StatusChange>,
) -> Result<Json<Interaction>, ApiError> {
    let change = Change::Status(body.status);
    Ok(Json(one_click(&state, &user, id, change).await?))
}

/// Assigns an interaction to an active user, or unassigns it.
#[utoipa::path(patch, path = "/api/v1/interactions/{id}/assignee", tag = "interactions",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), request_body = AssigneeChange, security(("bearer" = [])),
    responses(
        BadJson,
        NotJsonMediaType,
        (status = 200, body = Interaction),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn set_assignee(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiJson(body): ApiJson<AssigneeChange>,
) -> Result<Json<Interaction>, ApiError> {
    let change = Change::Assignee(body.assignee_id.map(Id::get));
    Ok(Json(one_click(&state, &user, id, change).await?))
}

/// Sets or clears the next action (snooze); re-arms its reminder.
#[utoipa::path(patch, path = "/api/v1/interactions/{id}/next-action", tag = "interactions",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), request_body = NextActionChange, security(("bearer" = [])),
    responses(
        BadJson,
        NotJsonMediaType,
        (status = 200, body = Interaction),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn set_next_action(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiJson(body): ApiJson<NextActionChange>,
) -> Result<Json<Interaction>, ApiError> {
    let change = Change::NextAction(body.next_action_at.map(|at| at.with_timezone(&Utc)));
    Ok(Json(one_click(&state, &user, id, change).await?))
}

/// One change applied to a list of ids or to every row matching an inbox filter, all or
/// nothing.
#[utoipa::path(post, path = "/api/v1/interactions/bulk", tag = "interactions",
    request_body = BulkRequest, security(("bearer" = [])),
    responses(
        BadJson,
        NotJsonMediaType,
        (status = 200, body = BulkResult),
        Unauthorized,
        Forbidden,
        Invalid,
    ))]
pub async fn bulk(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    ApiJson(body): ApiJson<BulkRequest>,
) -> Result<Json<BulkResult>, ApiError> {
    let result = bulk::apply(
        &state.pool,
        body,
        &user.caller,
        (state.default_tz, &state.sla),
        state.clock.now(),
    )
    .await?;
    tracing::info!(
        user_id = user.id,
        matched = result.matched,
        changed = result.changed,
        "bulk edit"
    );
    Ok(Json(result))
}

/// A one-click change by `user`, with the SLA clock at the request's "now".
async fn one_click(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    change: Change,
) -> Result<Interaction, ApiError> {
    interactions::apply(
        &state.pool,
        &user.caller,
        id,
        change,
        (&state.sla, state.clock.now()),
    )
    .await
}
