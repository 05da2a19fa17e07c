//! The inbox's opaque page cursor: the sort key of the last row served (`next_action_at`,
//! `created_at`, `id`), so the next page starts strictly after it (keyset pagination, no
//! OFFSET): walking the pages returns each matching row once, and rows inserted meanwhile do not
//! shift them. It also carries a digest of the filter it was issued for, so a cursor replayed
//! with other filters is refused instead of silently skipping rows.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use relance_shared::http::FieldError;

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// `None`: the row had no next action (those come last).
    pub next_action_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub id: i64,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    /// Format version.
    v: u8,
    /// Microseconds since the epoch: PostgreSQL's precision, so the keys compare exactly.
    n: Option<i64>,
    c: i64,
    i: i64,
    /// First 8 bytes of SHA-256 of the filter fingerprint, hex.
    f: String,
}

fn filter_digest(fingerprint: &str) -> String {
    hex::encode(&Sha256::digest(fingerprint.as_bytes())[..8])
}

pub fn encode(position: Position, filter_fingerprint: &str) -> String {
    let wire = Wire {
        v: 1,
        n: position.next_action_at.map(|at| at.timestamp_micros()),
        c: position.created_at.timestamp_micros(),
        i: position.id,
        f: filter_digest(filter_fingerprint),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
}

pub fn decode(cursor: &str, filter_fingerprint: &str) -> Result<Position, FieldError> {
    let invalid = || FieldError::new("cursor", "not a cursor this API returned");
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| invalid())?;
    let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if wire.v != 1 {
        return Err(invalid());
    }
    if wire.f != filter_digest(filter_fingerprint) {
        return Err(FieldError::new(
            "cursor",
            "this cursor belongs to a query with other filters; start again without it",
        ));
    }
    let micros = |m: i64| DateTime::<Utc>::from_timestamp_micros(m).ok_or_else(invalid);
    Ok(Position {
        next_action_at: wire.n.map(micros).transpose()?,
        created_at: micros(wire.c)?,
        id: wire.i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let position = Position {
            next_action_at: Some(DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap()),
            created_at: DateTime::from_timestamp_micros(1_770_000_000_000_001).unwrap(),
            id: 42,
        };
        let cursor = encode(position, "mine");
        assert_eq!(decode(&cursor, "mine"), Ok(position));
        let none = Position {
            next_action_at: None,
            ..position
        };
        assert_eq!(decode(&encode(none, "mine"), "mine"), Ok(none));
        assert!(decode(&cursor, "theirs").is_err());
        assert!(decode("garbage", "mine").is_err());
        assert!(decode("", "mine").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode("{}"), "mine").is_err());
    }
}
