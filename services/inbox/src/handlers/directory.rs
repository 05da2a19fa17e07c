//! The CRM's directory over HTTP (`/api/v1/directory/*`), bearer `directory.token`; the routes
//! answer 404 while it is unset. Each PUT is one object or an array of up to
//! `directory.max_batch`, all or nothing; the rules are in [`crate::directory`].

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use relance_shared::directory::{
    Kind, OrganisationVersion, PersonVersion, TeamVersion, UserVersion,
};
use relance_shared::http::openapi::{
    BadJson, Conflict, Invalid, NotFound, NotJsonMediaType, TooLarge, Unauthorized, Unavailable,
};
use relance_shared::http::{one_or_many, AnyJson, ApiError, ApiJson, FieldError};
use relance_shared::valid::{ExternalId, Valid};

use crate::directory::dead_letters::{purge_person, PurgeError};
use crate::directory::erase::{self, Merged};
use crate::directory::{store, Counts, DirectoryAccess, References};
use crate::state::AppState;

/// The CRM, authenticated by `directory.token`: 404 while the API is off, 401 without the
/// right bearer token (compared in constant time).
pub struct DirectoryCaller;

impl<S> FromRequestParts<S> for DirectoryCaller
where
    S: Send + Sync,
    DirectoryAccess: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let access = DirectoryAccess::from_ref(state);
        let Some(expected) = access.token else {
            return Err(ApiError::NotFound("the directory API is off".into()));
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        if bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes())) {
            Ok(DirectoryCaller)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Users, as the CRM has them (`{external_id, email, name, active?, updated_at}`).
#[utoipa::path(put, path = "/api/v1/directory/users", tag = "directory",
    request_body(content = Vec<UserVersion>, description = "One user or an array of up to `directory.max_batch`"),
    security(("directory" = [])),
    responses(
        (status = 200, body = Counts),
        BadJson, Unauthorized, NotJsonMediaType, TooLarge, Invalid, Conflict,
        (status = 404, description = "the directory API is off", body = relance_shared::http::openapi::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_users(
    State(state): State<Arc<AppState>>,
    _crm: DirectoryCaller,
    AnyJson(body): AnyJson,
) -> Result<Json<Counts>, ApiError> {
    let (versions, in_batch) = one_or_many::<UserVersion>(body, state.directory.max_batch)?;
    let mut tx = state.pool.begin().await?;
    let counts = store::put_users(&mut tx, &versions, in_batch).await?;
    tx.commit().await?;
    Ok(Json(counts))
}

/// Teams (`{external_id, name, parent_external_id?, updated_at}`); a parent may come later.
#[utoipa::path(put, path = "/api/v1/directory/teams", tag = "directory",
    request_body(content = Vec<TeamVersion>, description = "One team or an array of up to `directory.max_batch`"),
    security(("directory" = [])),
    responses(
        (status = 200, body = Counts),
        BadJson, Unauthorized, NotJsonMediaType, TooLarge, Invalid,
        (status = 404, description = "the directory API is off", body = relance_shared::http::openapi::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_teams(
    State(state): State<Arc<AppState>>,
    _crm: DirectoryCaller,
    AnyJson(body): AnyJson,
) -> Result<Json<Counts>, ApiError> {
    let (versions, _) = one_or_many::<TeamVersion>(body, state.directory.max_batch)?;
    let mut tx = state.pool.begin().await?;
    let counts = store::put_teams(&mut tx, &versions).await?;
    tx.commit().await?;
    Ok(Json(counts))
}

/// Organisations (`{external_id, name, updated_at}`).
#[utoipa::path(put, path = "/api/v1/directory/organisations", tag = "directory",
    request_body(content = Vec<OrganisationVersion>, description = "One organisation or an array of up to `directory.max_batch`"),
    security(("directory" = [])),
    responses(
        (status = 200, body = Counts),
        BadJson, Unauthorized, NotJsonMediaType, TooLarge, Invalid,
        (status = 404, description = "the directory API is off", body = relance_shared::http::openapi::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_organisations(
    State(state): State<Arc<AppState>>,
    _crm: DirectoryCaller,
    AnyJson(body): AnyJson,
) -> Result<Json<Counts>, ApiError> {
    let (versions, _) = one_or_many::<OrganisationVersion>(body, state.directory.max_batch)?;
    let mut tx = state.pool.begin().await?;
    let counts = store::put_organisations(&mut tx, &versions).await?;
    tx.commit().await?;
    Ok(Json(counts))
}

/// People (`{external_id, first_name?, last_name?, email?, phone?, organisation_external_id?,
/// owner_external_id?, updated_at}`); a reference to an organisation or owner the directory
/// does not hold is a 422 naming it.
#[utoipa::path(put, path = "/api/v1/directory/people", tag = "directory",
    request_body(content = Vec<PersonVersion>, description = "One person or an array of up to `directory.max_batch`"),
    security(("directory" = [])),
    responses(
        (status = 200, body = Counts),
        BadJson, Unauthorized, NotJsonMediaType, TooLarge, Invalid, Conflict,
        (status = 404, description = "the directory API is off", body = relance_shared::http::openapi::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_people(
    State(state): State<Arc<AppState>>,
    _crm: DirectoryCaller,
    AnyJson(body): AnyJson,
) -> Result<Json<Counts>, ApiError> {
    let (versions, in_batch) = one_or_many::<PersonVersion>(body, state.directory.max_batch)?;
    let mut tx = state.pool.begin().await?;
    let counts = store::put_people(&mut tx, &versions, in_batch, References::MustExist).await?;
    tx.commit().await?;
    Ok(Json(counts))
}

fn external_id_of(path: Result<Path<String>, PathRejection>) -> Result<ExternalId, ApiError> {
    let Path(id) = path.map_err(|_| {
        ApiError::Validation(vec![FieldError::new("external_id", "must be a CRM id")])
    })?;
    let mut errors = Vec::new();
    ExternalId::check("external_id", id, &mut errors).ok_or(ApiError::Validation(errors))
}

fn unavailable(error: PurgeError) -> ApiError {
    match error {
        PurgeError::Database(error) => error.into(),
        PurgeError::Nats(error) => {
            tracing::warn!(%error, "dead letters not purged");
            ApiError::Unavailable("NATS")
        }
    }
}

/// Erases a person (GDPR art. 17): nothing left that names them, their dead letters purged,
/// later events for their address identifying nobody. 204; unknown: 404.
#[utoipa::path(delete, path = "/api/v1/directory/people/{external_id}", tag = "directory",
    params(("external_id" = ExternalId, Path, description = "The CRM's id of the person")),
    security(("directory" = [])),
    responses(
        (status = 204, description = "erased"),
        Unauthorized, NotFound, Invalid, Unavailable,
    ))]
pub async fn erase_person(
    State(state): State<Arc<AppState>>,
    _crm: DirectoryCaller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let external_id = external_id_of(path)?;
    // Dead letters first: if NATS is down, nothing has changed and the CRM retries.
    purge_person(&state.pool, &state.live.js, &state.live.names, &external_id)
        .await
        .map_err(unavailable)?;
    let mut tx = state.pool.begin().await?;
    if !erase::erase_person(&mut tx, &external_id).await? {
        return Err(ApiError::NotFound(format!(
            "no person with external id {external_id}"
        )));
    }
    // An older version arriving later must not bring the person back.
    store::tombstone(&mut tx, Kind::People, &external_id, chrono::Utc::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    pub survivor_external_id: ExternalId,
    pub merged_external_id: ExternalId,
}

/// Merges a person into another: sends, interactions and score history move to the survivor,
/// whose score is recomputed from the merged history; the merged person is erased.
#[utoipa::path(post, path = "/api/v1/directory/people/merge", tag = "directory",
    request_body = MergeRequest, security(("directory" = [])),
    responses(
        (status = 200, body = Merged),
        BadJson, Unauthorized, NotJsonMediaType, NotFound, Invalid,
    ))]
pub async fn merge_people(
    State(state): State<Arc<AppState>>,
    _crm: DirectoryCaller,
    ApiJson(body): ApiJson<MergeRequest>,
) -> Result<Json<Merged>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let merged = erase::merge(
        &mut tx,
        &body.survivor_external_id,
        &body.merged_external_id,
        state.heat.warm,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(merged))
}
