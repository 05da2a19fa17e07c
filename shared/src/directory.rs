//! The CRM's directory on the wire: one version of a user, an organisation or a person, as the
//! CRM sends it, over HTTP (`PUT /api/v1/directory/<kind>`, one object or an array) or NATS
//! (`crm.directory.<kind>.upsert`, one object per message; `….delete` carries a [`Deletion`]).
//! `updated_at` is the CRM's time of that version: an older one than Relance holds changes
//! nothing. Unknown fields are refused, times need an offset, and each value is checked as
//! it is read ([`crate::valid`]): a bad id, name or address is refused naming its field.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::valid::{Email, ExternalId, NamePart, OrganisationName, Phone, TeamName, UserName};

/// What the directory holds, as in the paths and subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Users,
    Organisations,
    People,
    Teams,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Users, Kind::Organisations, Kind::People, Kind::Teams];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Organisations => "organisations",
            Kind::People => "people",
            Kind::Teams => "teams",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserVersion {
    pub external_id: ExternalId,
    pub email: Email,
    pub name: UserName,
    /// Absent: active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Absent: `rep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The teams they belong to (a manager manages these and their descendants); a team not
    /// received yet counts once it arrives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 100)]
    pub team_external_ids: Vec<ExternalId>,
    pub updated_at: DateTime<FixedOffset>,
}

/// What a user may see and change (docs: design, "Teams, roles and scope").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    sqlx::Type,
)]
#[sqlx(type_name = "user_role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Their own items and the unassigned ones.
    #[default]
    Rep,
    /// Theirs, their teams' members' (teams and descendants) and the unassigned ones.
    Manager,
    /// Everything.
    Admin,
}

/// A team; its parent may arrive after it (the tree is read through external ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamVersion {
    pub external_id: ExternalId,
    pub name: TeamName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_external_id: Option<ExternalId>,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationVersion {
    pub external_id: ExternalId,
    pub name: OrganisationName,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonVersion {
    pub external_id: ExternalId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<NamePart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<NamePart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_external_id: Option<ExternalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_external_id: Option<ExternalId>,
    pub updated_at: DateTime<FixedOffset>,
}

/// `crm.directory.<kind>.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deletion {
    pub external_id: ExternalId,
    pub updated_at: DateTime<FixedOffset>,
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
    fn kinds_read_back_from_their_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
