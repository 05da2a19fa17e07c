//! How a change's optional fields read `null`, for serde's `deserialize_with` (each field also
//! `#[serde(default)]`, so absent is `None`).

use serde::{Deserialize, Deserializer};

/// A field that may be absent but not `null` (an interaction's title, a preference): `null`
/// is refused, naming the field.
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A field where `null` is a value (no description, unassigned): `Some(None)` for an explicit
/// `null`, so it differs from an absent field.
pub fn null_is_a_value<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
