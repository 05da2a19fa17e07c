//! Hot leads and person scores.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use relance_shared::valid::{Id, TimeZone, TimeZoneOrDefault};

use relance_shared::http::openapi::{Forbidden, Invalid, NotFound, TooMany, Unauthorized};
use relance_shared::http::{ApiError, ApiQuery, FieldError, PathId};

use crate::auth::CurrentUser;
use crate::csv_export::{self, CsvLine, CsvRow};
use crate::leads::{self, HeatLevels, HotLead, PersonScore};
use crate::state::AppState;

pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HotLeadsParams {
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Lowest score listed; default `scoring.rules.hot_threshold` (15).
    #[param(value_type = Option<u32>, minimum = 0)]
    pub threshold: Option<String>,
    /// Time zone of the CSV export's times; default `inbox.default_timezone`.
    #[param(value_type = Option<TimeZoneOrDefault>)]
    pub tz: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HotLeads {
    /// Score descending (ties: latest activity first).
    pub items: Vec<HotLead>,
    pub threshold: i32,
    /// Every lead at or above the threshold, beyond this page.
    pub total: i64,
    /// The configured heat levels, so clients label scores as the server counts them.
    pub heat: HeatLevels,
}

fn parse(
    params: &HotLeadsParams,
    default_threshold: i32,
    default_tz: Tz,
) -> Result<(i64, i32, Tz), ApiError> {
    let mut errors = Vec::new();
    let limit = match params.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(FieldError::new("limit", "must be an integer from 1 to 100"));
                DEFAULT_LIMIT
            }
        },
    };
    let threshold = match params.threshold.as_deref() {
        None | Some("") => default_threshold,
        Some(v) => match v.parse::<i32>() {
            Ok(n) if n >= 0 => n,
            _ => {
                errors.push(FieldError::new(
                    "threshold",
                    "must be a non-negative integer",
                ));
                default_threshold
            }
        },
    };
    let tz = TimeZone::check_param("tz", params.tz.as_deref(), default_tz, &mut errors)
        .unwrap_or(default_tz);
    if errors.is_empty() {
        Ok((limit, threshold, tz))
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// People whose score is at least `threshold`, hottest first, with name and email.
#[utoipa::path(get, path = "/api/v1/marketing/leads-hot", tag = "leads",
    params(HotLeadsParams), security(("bearer" = [])),
    responses(
        (status = 200, body = HotLeads),
        Unauthorized,
        Forbidden,
        Invalid,
    ))]
pub async fn hot(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<HotLeadsParams>,
) -> Result<Json<HotLeads>, ApiError> {
    let (limit, threshold, _) = parse(&params, state.heat.warm, state.default_tz)?;
    let (items, total) = leads::hot(&state.pool, user.scope(), threshold, limit).await?;
    Ok(Json(HotLeads {
        items,
        threshold,
        total,
        heat: state.heat,
    }))
}

impl CsvRow for HotLead {
    const HEADER: &'static [&'static str] = &[
        "person_id",
        "person_name",
        "person_email",
        "score",
        "last_event_at",
    ];

    fn write(&self, tz: Tz, line: &mut CsvLine) {
        line.number(Some(self.person_id));
        line.text(self.person_name.as_deref());
        line.text(self.person_email.as_deref());
        line.number(Some(i64::from(self.score)));
        line.time(self.last_event_at, tz);
    }
}

/// Every lead at or above `threshold` as CSV (`limit` does not apply), streamed.
#[utoipa::path(get, path = "/api/v1/marketing/leads-hot/export", tag = "leads",
    params(HotLeadsParams), security(("bearer" = [])),
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
    ApiQuery(params): ApiQuery<HotLeadsParams>,
) -> Result<Response, ApiError> {
    let (_, threshold, tz) = parse(&params, state.heat.warm, state.default_tz)?;
    let slot = state.exports.take(user.id)?;
    csv_export::stream(
        state.pool.clone(),
        leads::HotLeadsExport {
            threshold,
            scope: user.scope().clone(),
        },
        tz,
        "relance-leads-hot.csv",
        (slot, state.exports.stall),
    )
    .await
}

/// A person's lead score and every change that made it, oldest first.
#[utoipa::path(get, path = "/api/v1/people/{id}/score", tag = "leads",
    params(("id" = Id, Path, description = "a positive id (anything else: 422)")), security(("bearer" = [])),
    responses(
        (status = 200, body = PersonScore),
        Unauthorized,
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn person_score(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<PersonScore>, ApiError> {
    Ok(Json(leads::person_score(&state.pool, id).await?))
}
