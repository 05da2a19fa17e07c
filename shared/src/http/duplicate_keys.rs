//! JSON objects that name a key twice are refused: parsers disagree on which copy wins (serde
//! keeps the last, others the first), so a signed body could mean one thing to whoever checked
//! it and another to whoever reads it. The gateway checks every body with [`refuse`] before
//! reading it.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ApiError;

/// 400 naming the first key an object repeats (`body: duplicate key `event``); `Ok` for anything else, invalid JSON included
/// (the parser that follows names that).
pub fn refuse(body: &[u8]) -> Result<(), ApiError> {
    match serde_json::from_slice::<Walked>(body) {
        Err(error) if error.to_string().starts_with(DUPLICATE) => {
            Err(ApiError::BadRequest(format!(
                "body: {}",
                error
                    .to_string()
                    .split(" at line")
                    .next()
                    .unwrap_or_default()
            )))
        }
        _ => Ok(()),
    }
}

const DUPLICATE: &str = "duplicate key";

/// A JSON value walked for its keys, kept nowhere.
struct Walked;

impl<'de> Deserialize<'de> for Walked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Walk)
    }
}

struct Walk;

impl<'de> Visitor<'de> for Walk {
    type Value = Walked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Walked, E> {
        Ok(Walked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Walked, E> {
        Ok(Walked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Walked, E> {
        Ok(Walked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Walked, E> {
        Ok(Walked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Walked, E> {
        Ok(Walked)
    }
    fn visit_unit<E>(self) -> Result<Walked, E> {
        Ok(Walked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Walked, A::Error> {
        while items.next_element::<Walked>()?.is_some() {}
        Ok(Walked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut object: A) -> Result<Walked, A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = object.next_key::<String>()? {
            if keys.contains(&key) {
                let shown: String = key.chars().take(100).collect();
                return Err(de::Error::custom(format_args!("{DUPLICATE} `{shown}`")));
            }
            object.next_value::<Walked>()?;
            keys.insert(key);
        }
        Ok(Walked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_at_any_depth_is_refused() {
        for body in [
            r#"{"a": 1, "a": 2}"#,
            r#"[{"event": "opened", "x": {"k": 1, "k": 1}}]"#,
            r#"{"signature": {}, "event-data": {"event": "opened", "event": "clicked"}}"#,
        ] {
            let error = refuse(body.as_bytes()).unwrap_err();
            assert!(
                matches!(error, ApiError::BadRequest(ref m) if m.contains("duplicate key")),
                "{body}"
            );
        }
        for body in [
            r#"{"a": 1, "b": {"a": 2}}"#,
            "[1, 2, 2]",
            "not json",
            r#""a""#,
        ] {
            assert!(refuse(body.as_bytes()).is_ok(), "{body}");
        }
    }
}
