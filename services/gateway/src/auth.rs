//! The normalized ingest endpoint's bearer token, compared in constant time.

use axum::http::{header, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use relance_shared::http::ApiError;

/// `Ok` when `Authorization: Bearer <token>` carries `expected`. The comparison takes the same
/// time whatever the first differing byte, so the token cannot be guessed byte by byte.
pub fn check_bearer(headers: &HeaderMap, expected: &SecretString) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or(ApiError::Unauthorized)?;
    let expected = expected.expose_secret().as_bytes();
    if bool::from(presented.trim().as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_token_table() {
        let secret = SecretString::from("s3cret-token-0123456789");
        assert!(check_bearer(&headers("Bearer s3cret-token-0123456789"), &secret).is_ok());
        assert!(check_bearer(&headers("Bearer s3cret-token-012345678"), &secret).is_err());
        assert!(check_bearer(&headers("Bearer s3cret-token-01234567890"), &secret).is_err());
        assert!(check_bearer(&headers("Basic s3cret-token-0123456789"), &secret).is_err());
        assert!(check_bearer(&headers("Bearer "), &secret).is_err());
        assert!(check_bearer(&HeaderMap::new(), &secret).is_err());
    }
}
