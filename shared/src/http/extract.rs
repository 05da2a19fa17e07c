//! Request extractors whose every refusal is an [`ApiError`] (problem+json), instead of axum's
//! plain-text rejections: `ApiJson` for bodies, `ApiQuery` for query strings and `PathId` for
//! a numeric id in the path. A
//! deserialization failure names the field at fault (`set.status`), via `serde_path_to_error`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::{ApiError, FieldError};

/// `application/json` or any `application/…+json` type, parameters allowed; else 415.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// Turns a `serde_path_to_error` failure into a 422 naming the field; `root` (`(body)`,
/// `(query)`) when the fault is the whole thing (a missing or duplicate field).
fn field_error<E: std::fmt::Display>(error: serde_path_to_error::Error<E>, root: &str) -> ApiError {
    let path = error.path().to_string();
    let field = if path == "." { root.to_owned() } else { path };
    ApiError::Validation(vec![FieldError::new(field, error.inner().to_string())])
}

/// axum's `DefaultBodyLimit`, which services using [`ApiJson`] keep.
pub const AXUM_DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON object body: 415 without a JSON content type, 413 past the body limit, 400 when it
/// is not JSON at all, 422 naming the field when it is JSON of the wrong shape. The top level
/// must be an object: serde would otherwise read a struct from an array, field by field
/// (`[null, null]` as `{"title": null, "description": null}`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let AnyJson(value) = AnyJson::from_request(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::Validation(vec![FieldError::new(
                "(body)",
                "must be a JSON object",
            )]));
        }
        every_bad_field(value, "(body)")
            .map(ApiJson)
            .map_err(ApiError::Validation)
    }
}

/// The most bad fields one refusal names; past it, the body is refused with those found.
const MAX_FIELD_ERRORS: usize = 32;

/// `value` read as a `T`, or every bad field in it: serde stops at the first one, so each
/// refused field is taken out and the value read again, until it reads or what fails is only
/// a field taken out (now missing). `root` names a fault of the whole value.
fn every_bad_field<T: DeserializeOwned>(
    mut value: serde_json::Value,
    root: &str,
) -> Result<T, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut taken_out: Vec<String> = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(parsed) if errors.is_empty() => return Ok(parsed),
            Ok(_) => return Err(errors),
            Err(error) => error,
        };
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| {
                if path == "." {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                }
            });
        if missing
            .as_ref()
            .is_some_and(|field| taken_out.contains(field))
        {
            return Err(errors);
        }
        let field = if path == "." {
            root.to_owned()
        } else {
            path.clone()
        };
        errors.push(FieldError::new(field, message));
        if errors.len() >= MAX_FIELD_ERRORS || !take_out(&mut value, error.path()) {
            return Err(errors);
        }
        taken_out.push(path);
    }
}

/// Removes the object member at `path`; false when the path does not end at one.
fn take_out(value: &mut serde_json::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((Segment::Map { key }, parents)) = segments.split_last() else {
        return false;
    };
    let mut at = value;
    for segment in parents {
        let next = match segment {
            Segment::Map { key } => at.get_mut(key.as_str()),
            Segment::Seq { index } => at.get_mut(*index),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => return false,
        }
    }
    at.as_object_mut()
        .is_some_and(|object| object.remove(key.as_str()).is_some())
}

/// Any JSON value, with [`ApiJson`]'s refusals (for the directory's one-object-or-array
/// bodies, see [`one_or_many`]).
#[derive(Debug, Clone, Default)]
pub struct AnyJson(pub serde_json::Value);

impl<S> FromRequest<S> for AnyJson
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: AXUM_DEFAULT_BODY_LIMIT,
                }
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(AnyJson)
            .map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))
    }
}

/// A body holding one object or an array of 1 to `max` of them, each deserialized on its own:
/// a 422 names every bad item's field (`[2].updated_at`; no index for a lone object). Returns
/// the items and whether the body was an array.
pub fn one_or_many<T: DeserializeOwned>(
    body: serde_json::Value,
    max: usize,
) -> Result<(Vec<T>, bool), ApiError> {
    let (items, in_batch) = match body {
        serde_json::Value::Array(items) => (items, true),
        object @ serde_json::Value::Object(_) => (vec![object], false),
        _ => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "(body)",
                "must be an object or an array of objects",
            )]))
        }
    };
    if items.is_empty() || items.len() > max {
        return Err(ApiError::Validation(vec![FieldError::new(
            "(body)",
            format!("must hold 1 to {max} items, got {}", items.len()),
        )]));
    }
    let mut parsed = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match every_bad_field::<T>(item, ".") {
            Ok(value) => parsed.push(value),
            Err(item_errors) => {
                for FieldError { field, message } in item_errors {
                    // A missing field is reported at the object: name the field itself.
                    let path = match message
                        .strip_prefix("missing field `")
                        .and_then(|rest| rest.split_once('`'))
                    {
                        Some((name, _)) if field == "." => name.to_owned(),
                        Some((name, _)) => format!("{field}.{name}"),
                        None => field,
                    };
                    let field = match (in_batch, path.as_str()) {
                        (true, ".") => format!("[{index}]"),
                        (true, _) => format!("[{index}].{path}"),
                        (false, ".") => "(body)".to_owned(),
                        (false, _) => path,
                    };
                    errors.push(FieldError::new(field, message));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok((parsed, in_batch))
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A query string, 422 naming the parameter when one has the wrong type.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| field_error(e, "(query)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        for (ct, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/cloudevents+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("", false),
        ] {
            let mut h = HeaderMap::new();
            if !ct.is_empty() {
                h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            }
            assert_eq!(require_json(&h).is_ok(), ok, "{ct}");
        }
    }
}

/// A positive numeric id, the route's one path parameter (`/…/{id}`): 422 naming `id`
/// otherwise (never axum's plain-text 400). Take `Result<PathId, ApiError>` to report it with
/// other bad parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub i64);

impl<S> FromRequestParts<S> for PathId
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid =
            || ApiError::Validation(vec![FieldError::new("id", "must be a positive integer")]);
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| invalid())?;
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(PathId(id)),
            _ => Err(invalid()),
        }
    }
}
