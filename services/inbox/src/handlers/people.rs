//! The read side of the directory for the web app: a person, the people search, a person's
//! email sends, an organisation.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use relance_shared::http::openapi::{Forbidden, Invalid, NotFound, Unauthorized};
use relance_shared::http::{ApiError, ApiQuery, FieldError, PathId};

use crate::auth::CurrentUser;
use crate::people::{self, EmailSends, Organisation, PeopleCursor, PeoplePage, Person};
use crate::state::AppState;
use relance_shared::valid::{Id, SearchText, Valid};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleParams {
    /// Words to find in the name or email, case and accents ignored.
    #[param(value_type = Option<SearchText>, example = "lefevre")]
    pub q: Option<String>,
    /// 1 to 100; default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `cursor` of the previous page, as returned.
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SendsParams {
    /// 1 to 100; default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// `limit` from 1 to 100, `default` when absent; else a 422 naming it.
fn limit(raw: Option<&str>, default: i64, errors: &mut Vec<FieldError>) -> i64 {
    match raw.map(str::trim) {
        None | Some("") => default,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                errors.push(FieldError::new("limit", "must be an integer from 1 to 100"));
                default
            }
        },
    }
}

/// `q`'s words, as the inbox takes them.
fn words(q: Option<&str>, errors: &mut Vec<FieldError>) -> Vec<String> {
    q.and_then(|q| SearchText::check("q", q.to_owned(), errors))
        .map(|q| q.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// People by name, optionally those whose name or email holds every word of `q`.
#[utoipa::path(get, path = "/api/v1/people", tag = "people",
    params(PeopleParams), security(("bearer" = [])),
    responses(
        (status = 200, body = PeoplePage),
        Unauthorized,
        Forbidden,
        Invalid,
    ))]
pub async fn search(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiQuery(params): ApiQuery<PeopleParams>,
) -> Result<Json<PeoplePage>, ApiError> {
    let mut errors = Vec::new();
    let words = words(params.q.as_deref(), &mut errors);
    let limit = limit(params.limit.as_deref(), 20, &mut errors);
    let after = match params.cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => PeopleCursor::decode(raw).map_err(|e| errors.push(e)).ok(),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Json(
        people::search(&state.pool, &words, after.as_ref(), limit).await?,
    ))
}

/// One person: identity, organisation, owner and score.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), security(("bearer" = [])),
    responses(
        (status = 200, body = Person),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn person(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Person>, ApiError> {
    Ok(Json(people::person(&state.pool, id, state.heat).await?))
}

/// The emails sent to a person, latest first, with their opens and clicks.
#[utoipa::path(get, path = "/api/v1/people/{id}/sends", tag = "people",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)"), SendsParams), security(("bearer" = [])),
    responses(
        (status = 200, body = EmailSends),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn sends(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    path: Result<PathId, ApiError>,
    ApiQuery(params): ApiQuery<SendsParams>,
) -> Result<Json<EmailSends>, ApiError> {
    let mut errors = Vec::new();
    let limit = limit(params.limit.as_deref(), 20, &mut errors);
    // Every bad parameter in one answer: the path's id first.
    let id = match path {
        Ok(PathId(id)) if errors.is_empty() => id,
        Ok(_) => return Err(ApiError::Validation(errors)),
        Err(ApiError::Validation(mut bad)) => {
            bad.append(&mut errors);
            return Err(ApiError::Validation(bad));
        }
        Err(other) => return Err(other),
    };
    Ok(Json(people::sends(&state.pool, id, limit).await?))
}

/// One organisation and its people, highest score first.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "people",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), security(("bearer" = [])),
    responses(
        (status = 200, body = Organisation),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn organisation(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Organisation>, ApiError> {
    Ok(Json(
        people::organisation(&state.pool, id, state.heat).await?,
    ))
}
