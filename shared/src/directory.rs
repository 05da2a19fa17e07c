//! The CRM's directory on the wire: one version of a user, an organisation or a person, as the
//! CRM sends it, over HTTP (`PUT /api/v1/directory/<kind>`, one object or an array) or NATS
//! (`crm.directory.<kind>.upsert`, one object per message; `….delete` carries a [`Deletion`]).
//! `updated_at` is the CRM's time of that version: an older one than Relance holds changes
//! nothing. Unknown fields are refused, times need an offset.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// What the directory holds, as in the paths and subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Users,
    Organisations,
    People,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Users, Kind::Organisations, Kind::People];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Organisations => "organisations",
            Kind::People => "people",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserVersion {
    pub external_id: String,
    pub email: String,
    pub name: String,
    /// Absent: active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationVersion {
    pub external_id: String,
    pub name: String,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonVersion {
    pub external_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_external_id: Option<String>,
    pub updated_at: DateTime<FixedOffset>,
}

/// `crm.directory.<kind>.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deletion {
    pub external_id: String,
    pub updated_at: DateTime<FixedOffset>,
}

/// The longest external id accepted (the CRM's ids are short; this only bounds abuse).
pub const MAX_EXTERNAL_ID: usize = 200;

/// Problems with an external id, `None` when it is fine: 1 to 200 characters, none of them a
/// control character, no space at either end.
pub fn external_id_problem(id: &str) -> Option<&'static str> {
    if id.trim().is_empty() {
        Some("must not be empty")
    } else if id.chars().count() > MAX_EXTERNAL_ID {
        Some("must be at most 200 characters")
    } else if id.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else if id.trim() != id {
        Some("must not start or end with spaces")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_person_version_is_pinned_and_refuses_unknown_fields() {
        let pinned = json!({
            "external_id": "crm-p-1", "first_name": "Jeanne", "last_name": "Durand",
            "email": "jeanne@acme.test", "phone": "+33 1 23 45 67 89",
            "organisation_external_id": "crm-o-1", "owner_external_id": "crm-u-1",
            "updated_at": "2026-11-24T09:30:00+01:00"
        });
        let person: PersonVersion = serde_json::from_value(pinned.clone()).unwrap();
        assert_eq!(person.organisation_external_id.as_deref(), Some("crm-o-1"));
        assert_eq!(serde_json::to_value(&person).unwrap(), pinned);
        let mut unknown = pinned;
        unknown["nickname"] = json!("Jeannot");
        assert!(serde_json::from_value::<PersonVersion>(unknown).is_err());
        let no_offset = json!({"external_id": "x", "updated_at": "2026-11-24T09:30:00"});
        assert!(serde_json::from_value::<PersonVersion>(no_offset).is_err());
    }

    #[test]
    fn external_ids_are_bounded() {
        assert_eq!(external_id_problem("crm-1"), None);
        assert!(external_id_problem("").is_some());
        assert!(external_id_problem(" x").is_some());
        assert!(external_id_problem(&"x".repeat(201)).is_some());
        assert_eq!(external_id_problem(&"é".repeat(200)), None);
        assert!(external_id_problem("a\nb").is_some());
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
