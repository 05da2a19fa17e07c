//! Values checked once, where they enter, and stated once: each type here holds only valid
//! values, parses from its raw form with the rule's message, and builds its OpenAPI schema from
//! the same constants, so `/openapi.json` and the check cannot disagree.
//!
//! - In a JSON body, a field of one of these types refuses a bad value while deserializing:
//!   `ApiJson` answers 422 naming the field (`title: must be 1 to 500 characters`).
//! - A query parameter stays a string (so every bad parameter is named in one 422) with
//!   `#[param(value_type = …)]` naming the type here, and is read with [`Valid::check`].
//!
//! Characters: no value accepts a control character (`char::is_control`: C0, DEL, C1);
//! PostgreSQL could not even store a NUL. A description alone keeps line breaks and tabs.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::http::FieldError;

/// No control character: the pattern of every free text.
const NO_CONTROL: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
/// Something other than spaces, and no control character (titles, names).
const REQUIRED_TEXT: &str =
    r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";
/// Up to [`MAX_SEARCH_WORDS`] words (runs of non-space) and no control character.
const SEARCH_WORDS: &str = r"^[^\S\x00-\x1F\x7F-\x9F]*([^\s\x00-\x1F\x7F-\x9F]+([^\S\x00-\x1F\x7F-\x9F]+[^\s\x00-\x1F\x7F-\x9F]+){0,7})?[^\S\x00-\x1F\x7F-\x9F]*$";
/// The most words one search takes: each is an index walk or a trigram scan, and 60
/// one-letter words took 8 s and 350 MB of PostgreSQL.
pub const MAX_SEARCH_WORDS: usize = 8;
/// Line breaks and tabs, but no other control character.
const MULTILINE: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
/// No control character and no space at either end.
const EXTERNAL_ID: &str =
    r"^[^\s\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F])?$";
/// No white space or control character, something before the first `@`, a dot after it.
const EMAIL: &str =
    r"^[^@\s\x00-\x1F\x7F-\x9F]+@[^\s\x00-\x1F\x7F-\x9F]*\.[^\s\x00-\x1F\x7F-\x9F]*$";

/// A value read from its raw form; the message says what a valid one is.
pub trait Valid: Sized {
    type Raw;

    fn parse(raw: Self::Raw) -> Result<Self, Cow<'static, str>>;

    /// `raw` parsed, or its problem pushed onto `errors` under `field`.
    fn check(field: &str, raw: Self::Raw, errors: &mut Vec<FieldError>) -> Option<Self> {
        Self::parse(raw)
            .map_err(|message| errors.push(FieldError::new(field, message)))
            .ok()
    }
}

fn deserialize_valid<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Valid,
    T::Raw: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::parse(T::Raw::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

fn string_schema(description: &str, min: Option<usize>, max: usize, pattern: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(min)
        .max_length(Some(max))
        .pattern(Some(pattern))
        .into()
}

/// A string type: its rule (what `parse` checks), its schema, and the traits to use it as text.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $description:literal, min = $min:expr, max = $max:expr,
     pattern = $pattern:expr, parse = $parse:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The most characters accepted.
            pub const MAX_CHARS: usize = $max;

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl Valid for $name {
            type Raw = String;

            fn parse(raw: String) -> Result<Self, Cow<'static, str>> {
                let parse: fn(String) -> Result<String, Cow<'static, str>> = $parse;
                parse(raw).map($name)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Cow<'static, str>;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw.to_owned())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserialize_valid(deserializer)
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_schema($description, $min, $max, $pattern).into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

fn chars_over(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Text that must say something: trimmed, 1 to `max` characters, no control character.
fn required_text(raw: String, max: usize) -> Result<String, Cow<'static, str>> {
    let text = raw.trim();
    if text.is_empty() {
        Err("must not be empty".into())
    } else if chars_over(text, max) {
        Err(format!("must be 1 to {max} characters").into())
    } else if has_control(text) {
        Err("must not contain control characters".into())
    } else {
        Ok(text.to_owned())
    }
}

/// Text that may be blank: up to `max` characters, no control character; kept as given.
fn optional_text(raw: String, max: usize) -> Result<String, Cow<'static, str>> {
    if chars_over(&raw, max) {
        Err(format!("must be at most {max} characters").into())
    } else if has_control(&raw) {
        Err("must not contain control characters".into())
    } else {
        Ok(raw)
    }
}

text_type!(
    /// An interaction's title as stored: trimmed, 1 to 500 characters.
    Title, "1 to 500 characters, not only spaces, no control character.",
    min = Some(1), max = 500, pattern = REQUIRED_TEXT,
    parse = |raw| required_text(raw, 500)
);

text_type!(
    /// An interaction's description: up to 10,000 characters, line breaks and tabs allowed;
    /// blank is no description ([`Description::into_stored`]).
    Description, "Up to 10,000 characters; line breaks and tabs, no other control character.",
    min = None, max = 10_000, pattern = MULTILINE,
    parse = |raw| {
        if chars_over(&raw, 10_000) {
            Err("must be at most 10000 characters".into())
        } else if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            Err("must not contain control characters other than line breaks and tabs".into())
        } else {
            Ok(raw)
        }
    }
);

impl Description {
    /// What the database holds: `None` for a blank description.
    pub fn into_stored(self) -> Option<String> {
        (!self.0.trim().is_empty()).then_some(self.0)
    }
}

text_type!(
    /// The CRM's id of a record: 1 to 200 characters (the CRM's are short; this bounds abuse),
    /// no space at either end.
    ExternalId, "The CRM's id: 1 to 200 characters, no control character, no space at either end.",
    min = Some(1), max = 200, pattern = EXTERNAL_ID,
    parse = |raw| {
        if raw.trim().is_empty() {
            Err("must not be empty".into())
        } else if chars_over(&raw, 200) {
            Err("must be at most 200 characters".into())
        } else if has_control(&raw) {
            Err("must not contain control characters".into())
        } else if raw.trim() != raw {
            Err("must not start or end with spaces".into())
        } else {
            Ok(raw)
        }
    }
);

text_type!(
    /// An email address as the directory takes it: at most 320 characters, no white space,
    /// something before the first `@` and a dot after it. Deliverability is the mail server's.
    Email, "An email address: something before the first `@`, a dot after it, no white space.",
    min = None, max = 320, pattern = EMAIL,
    parse = |raw| {
        let well_formed = raw
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if chars_over(&raw, 320) {
            Err("must be at most 320 characters".into())
        } else if !well_formed || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err("is not an email address".into())
        } else {
            Ok(raw)
        }
    }
);

text_type!(
    /// A user's full name, stored trimmed.
    UserName, "1 to 200 characters, not only spaces, no control character.",
    min = None, max = 200, pattern = REQUIRED_TEXT,
    parse = |raw| required_text(raw, 200)
);

text_type!(
    /// An organisation's name, stored trimmed.
    OrganisationName, "1 to 300 characters, not only spaces, no control character.",
    min = None, max = 300, pattern = REQUIRED_TEXT,
    parse = |raw| required_text(raw, 300)
);

text_type!(
    /// A team's name, stored trimmed.
    TeamName, "1 to 200 characters, not only spaces, no control character.",
    min = None, max = 200, pattern = REQUIRED_TEXT,
    parse = |raw| required_text(raw, 200)
);

text_type!(
    /// A person's first or last name; may be blank.
    NamePart, "Up to 200 characters, no control character.",
    min = None, max = 200, pattern = NO_CONTROL,
    parse = |raw| optional_text(raw, 200)
);

text_type!(
    /// A phone number as the CRM writes it; may be blank.
    Phone, "Up to 50 characters, no control character.",
    min = None, max = 50, pattern = NO_CONTROL,
    parse = |raw| optional_text(raw, 50)
);

text_type!(
    /// Free-text search (`q`): words to find; blank is no search.
    SearchText, "Words to find: up to 8 words, 200 characters, no control character.",
    min = None, max = 200, pattern = SEARCH_WORDS,
    parse = |raw| {
        let text = optional_text(raw, 200)?;
        if text.split_whitespace().count() > MAX_SEARCH_WORDS {
            Err(format!("must be at most {MAX_SEARCH_WORDS} words").into())
        } else {
            Ok(text)
        }
    }
);

/// A record's id: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Id(i64);

impl Id {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl Valid for Id {
    type Raw = i64;

    fn parse(raw: i64) -> Result<Self, Cow<'static, str>> {
        if raw > 0 {
            Ok(Id(raw))
        } else {
            Err("must be a positive integer id".into())
        }
    }
}

impl Id {
    /// A query parameter's id: blank is none.
    pub fn check_param(field: &str, raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Id> {
        match raw.map(str::trim) {
            None | Some("") => None,
            Some(raw) => match raw.parse::<i64>().map(Id::parse) {
                Ok(Ok(id)) => Some(id),
                _ => {
                    errors.push(FieldError::new(field, "must be a positive integer id"));
                    None
                }
            },
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_valid(deserializer)
    }
}

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(Some("A record's id: a positive integer."))
            .minimum(Some(1))
            .into()
    }
}

impl ToSchema for Id {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Id")
    }
}

/// An hour of the day, 0 to 23 (a daily digest's local hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Hour(i16);

impl Hour {
    pub fn get(self) -> i16 {
        self.0
    }
}

impl Valid for Hour {
    type Raw = i64;

    fn parse(raw: i64) -> Result<Self, Cow<'static, str>> {
        match i16::try_from(raw) {
            Ok(hour) if (0..=23).contains(&hour) => Ok(Hour(hour)),
            _ => Err("must be an hour from 0 to 23".into()),
        }
    }
}

impl<'de> Deserialize<'de> for Hour {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_valid(deserializer)
    }
}

impl PartialSchema for Hour {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some("An hour of the day, 0 to 23."))
            .minimum(Some(0))
            .maximum(Some(23))
            .into()
    }
}

impl ToSchema for Hour {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Hour")
    }
}

/// An ISO weekday, 1 (Monday) to 7 (Sunday): a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IsoWeekday(i16);

impl IsoWeekday {
    pub fn get(self) -> i16 {
        self.0
    }
}

impl Valid for IsoWeekday {
    type Raw = i64;

    fn parse(raw: i64) -> Result<Self, Cow<'static, str>> {
        match i16::try_from(raw) {
            Ok(day) if (1..=7).contains(&day) => Ok(IsoWeekday(day)),
            _ => Err("must be an ISO weekday from 1 (Monday) to 7 (Sunday)".into()),
        }
    }
}

impl<'de> Deserialize<'de> for IsoWeekday {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_valid(deserializer)
    }
}

impl PartialSchema for IsoWeekday {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some("An ISO weekday, 1 (Monday) to 7 (Sunday)."))
            .minimum(Some(1))
            .maximum(Some(7))
            .into()
    }
}

impl ToSchema for IsoWeekday {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("IsoWeekday")
    }
}

/// A local time of day, `HH:MM` from `00:00` to `23:59` (a working day's start or end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(chrono::NaiveTime);

const CLOCK_TIME_PATTERN: &str = "^([01][0-9]|2[0-3]):[0-5][0-9]$";

impl ClockTime {
    pub fn get(self) -> chrono::NaiveTime {
        self.0
    }

    /// A stored time, to the minute.
    pub fn from_time(time: chrono::NaiveTime) -> Self {
        use chrono::Timelike;
        ClockTime(chrono::NaiveTime::from_hms_opt(time.hour(), time.minute(), 0).unwrap_or(time))
    }
}

impl Valid for ClockTime {
    type Raw = String;

    fn parse(raw: String) -> Result<Self, Cow<'static, str>> {
        let well_formed = raw.len() == 5 && raw.as_bytes()[2] == b':';
        match chrono::NaiveTime::parse_from_str(&raw, "%H:%M") {
            Ok(time) if well_formed => Ok(ClockTime(time)),
            _ => Err(format!("`{raw}` is not a time of day as HH:MM (00:00 to 23:59)").into()),
        }
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_valid(deserializer)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.format("%H:%M").to_string())
    }
}

impl PartialSchema for ClockTime {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A local time of day, HH:MM (00:00 to 23:59)."))
            .pattern(Some(CLOCK_TIME_PATTERN))
            .into()
    }
}

impl ToSchema for ClockTime {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ClockTime")
    }
}

/// A zone of the tz database (IANA), exactly as it spells it (`Europe/Paris`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn zone_name(self) -> &'static str {
        self.0.name()
    }

    /// A query parameter's zone: blank is `default`.
    pub fn check_param(
        field: &str,
        raw: Option<&str>,
        default: chrono_tz::Tz,
        errors: &mut Vec<FieldError>,
    ) -> Option<chrono_tz::Tz> {
        match raw {
            None | Some("") => Some(default),
            Some(name) => Self::check(field, name.to_owned(), errors).map(TimeZone::tz),
        }
    }
}

impl Valid for TimeZone {
    type Raw = String;

    fn parse(raw: String) -> Result<Self, Cow<'static, str>> {
        raw.parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| format!("`{raw}` is not an IANA time zone (e.g. Europe/Paris)").into())
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_valid(deserializer)
    }
}

impl PartialSchema for TimeZone {
    fn schema() -> RefOr<Schema> {
        let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A name of the tz database (IANA), exactly as it spells it.",
            ))
            .enum_values(Some(zones))
            .into()
    }
}

impl ToSchema for TimeZone {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TimeZone")
    }
}

/// A query parameter's zone ([`TimeZone::check_param`]): a zone, or empty for the default
/// (`inbox.default_timezone`). Only its schema is used.
pub struct TimeZoneOrDefault;

impl PartialSchema for TimeZoneOrDefault {
    fn schema() -> RefOr<Schema> {
        let empty = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([""]));
        AnyOfBuilder::new()
            .description(Some("A time zone, or empty for `inbox.default_timezone`."))
            .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                "TimeZone",
            )))
            .item(empty)
            .into()
    }
}

impl ToSchema for TimeZoneOrDefault {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TimeZoneOrDefault")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            <TimeZone as ToSchema>::name().into_owned(),
            TimeZone::schema(),
        ));
    }
}

/// A query parameter's instant: RFC 3339 with an offset, or empty (no bound). Only its schema
/// is used; `relance-inbox`'s filters read it.
pub struct InstantOrEmpty;

impl PartialSchema for InstantOrEmpty {
    fn schema() -> RefOr<Schema> {
        let instant = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
        let empty = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([""]));
        AnyOfBuilder::new().item(instant).item(empty).into()
    }
}

impl ToSchema for InstantOrEmpty {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("InstantOrEmpty")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches_schema<T: PartialSchema>(value: &str) -> bool {
        let schema = serde_json::to_value(T::schema()).unwrap_or_default();
        let pattern = schema["pattern"].as_str().unwrap_or(".*");
        let max = schema["maxLength"].as_u64().unwrap_or(u64::MAX);
        let min = schema["minLength"].as_u64().unwrap_or(0);
        let chars = value.chars().count() as u64;
        let re = regex::Regex::new(pattern).unwrap();
        re.is_match(value) && chars <= max && chars >= min
    }

    /// The schema and the check agree, value by value: what one accepts the other does.
    #[test]
    fn schemas_and_checks_agree() {
        let long = |n: usize| "é".repeat(n);
        let samples = [
            "",
            " ",
            "x",
            " x",
            "x ",
            "a b",
            "a\nb",
            "a\tb",
            "a\u{0}b",
            "a\u{85}b",
            "a@b.c",
            "a@b",
            "@b.c",
            "a b@c.d",
            "a@@b.c",
            "crm-1",
            "a b c d e f g h",
            " a b c d e f g h ",
            "a b c d e f g h i",
            "a\u{a0}b\u{3000}c",
            "a b c d e f g\u{a0}h\u{a0}i",
        ];
        let mut all: Vec<String> = samples.iter().map(|s| (*s).to_owned()).collect();
        for n in [49, 50, 51, 199, 200, 201, 300, 301, 320, 321, 500, 501] {
            all.push(long(n));
        }
        for value in &all {
            let agree = |accepted: bool, schema: bool, name: &str| {
                assert_eq!(accepted, schema, "{name} {value:?}");
            };
            agree(
                ExternalId::parse(value.clone()).is_ok(),
                matches_schema::<ExternalId>(value),
                "ExternalId",
            );
            agree(
                Email::parse(value.clone()).is_ok(),
                matches_schema::<Email>(value),
                "Email",
            );
            agree(
                NamePart::parse(value.clone()).is_ok(),
                matches_schema::<NamePart>(value),
                "NamePart",
            );
            agree(
                Phone::parse(value.clone()).is_ok(),
                matches_schema::<Phone>(value),
                "Phone",
            );
            agree(
                SearchText::parse(value.clone()).is_ok(),
                matches_schema::<SearchText>(value),
                "SearchText",
            );
            agree(
                Description::parse(value.clone()).is_ok(),
                matches_schema::<Description>(value),
                "Description",
            );
            // Trimmed before the length check: only values without surrounding spaces compare.
            if value.trim() == value {
                agree(
                    Title::parse(value.clone()).is_ok(),
                    matches_schema::<Title>(value),
                    "Title",
                );
                agree(
                    OrganisationName::parse(value.clone()).is_ok(),
                    matches_schema::<OrganisationName>(value),
                    "OrganisationName",
                );
            }
        }
    }

    #[test]
    fn a_bad_value_is_refused_while_deserializing_naming_the_rule() {
        let error = serde_json::from_value::<Title>(serde_json::json!("  ")).unwrap_err();
        assert_eq!(error.to_string(), "must not be empty");
        let title: Title = serde_json::from_value(serde_json::json!("  Relance  ")).unwrap();
        assert_eq!(title.as_str(), "Relance");
        assert!(serde_json::from_value::<Id>(serde_json::json!(0)).is_err());
        assert!(serde_json::from_value::<TimeZone>(serde_json::json!("europe/paris")).is_err());
        let zone: TimeZone = serde_json::from_value(serde_json::json!("Europe/Paris")).unwrap();
        assert_eq!(zone.zone_name(), "Europe/Paris");
        assert_eq!(
            Description::parse(" \n".into()).unwrap().into_stored(),
            None
        );
    }
}
