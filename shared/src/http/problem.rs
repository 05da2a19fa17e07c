//! Errors as `application/problem+json` (RFC 9457). Every handler error is an [`ApiError`],
//! and this is the one place that turns it into a status and a body.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One bad field of a request: `field` is a path into the body (`[3].occurred_at`) or a query
/// parameter name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// Valid credentials that name nobody allowed in (an unknown or deactivated user).
    #[error("{0}")]
    Forbidden(String),
    /// A value the caller may not give (403), each named: an assignee out of their reach.
    #[error("{} field(s) not allowed", .0.len())]
    NotAllowed(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("{} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// Well-formed values that clash with what is stored (409), each named.
    #[error("{} field(s) in conflict", .0.len())]
    Conflict(Vec<FieldError>),
    #[error("{0} is unavailable, try again later")]
    Unavailable(&'static str),
    /// A limit reached: try again after `retry_after_secs` (the `Retry-After` header).
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    /// Too busy to take this request now (load shed, a deadline passed): 503 with
    /// `Retry-After`, nothing done.
    #[error("{detail}")]
    Busy {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::NotAllowed(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => (
                "https://relance.dev/problems/malformed",
                "Malformed request",
            ),
            ApiError::Unauthorized => ("https://relance.dev/problems/unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) | ApiError::NotAllowed(_) => {
                ("https://relance.dev/problems/forbidden", "Forbidden")
            }
            ApiError::NotFound(_) => ("https://relance.dev/problems/not-found", "Not found"),
            ApiError::PayloadTooLarge { .. } => (
                "https://relance.dev/problems/too-large",
                "Payload too large",
            ),
            ApiError::UnsupportedMediaType => (
                "https://relance.dev/problems/media-type",
                "Unsupported media type",
            ),
            ApiError::Validation(_) => {
                ("https://relance.dev/problems/validation", "Invalid request")
            }
            ApiError::Conflict(_) => ("https://relance.dev/problems/conflict", "Conflict"),
            ApiError::TooManyRequests { .. } => (
                "https://relance.dev/problems/too-many-requests",
                "Too many requests",
            ),
            ApiError::Busy { .. } => ("https://relance.dev/problems/busy", "Busy, retry later"),
            ApiError::Unavailable(_) => (
                "https://relance.dev/problems/unavailable",
                "Service unavailable",
            ),
            ApiError::Internal(_) => ("https://relance.dev/problems/internal", "Internal error"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_transient(&error) {
            ApiError::Unavailable("the database")
        } else {
            ApiError::Internal(error.into())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(error) => tracing::error!(error = ?error, "request failed"),
            ApiError::Unavailable(what) => tracing::warn!(dependency = what, "dependency down"),
            _ => tracing::debug!(error = %self, "request refused"),
        }
        let (kind, title) = self.kind_and_title();
        let body = ProblemBody {
            kind,
            title,
            status: status.as_u16(),
            detail: self.to_string(),
            errors: match &self {
                ApiError::Validation(errors)
                | ApiError::Conflict(errors)
                | ApiError::NotAllowed(errors) => Some(errors),
                _ => None,
            },
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, json).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        }
        | ApiError::Busy {
            retry_after_secs, ..
        } = &self
        {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(*retry_after_secs),
            );
        }
        response
    }
}
