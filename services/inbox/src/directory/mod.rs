//! The CRM's directory: its users, organisations and people, fed by the CRM over HTTP
//! (`handlers/directory.rs`) and NATS ([`consumer`]), applied by the same code ([`store`]).
//!
//! - Last writer wins by the CRM's `updated_at`: a version older than (or as old as) the one
//!   held changes nothing and is counted `stale`, so any order and any repetition of the same
//!   versions give the same final state. Deletions leave a tombstone (the id and time only),
//!   so an older version arriving after a delete does not bring the record back.
//! - Set-based: a request of 1,000 versions is a few statements, not 1,000 (the initial load of
//!   a large CRM goes through here; `relance-bench directory` measures it).
//! - References: over HTTP a person naming an organisation or owner the directory does not
//!   hold is refused (422 `[2].owner_external_id`); over NATS, where a person may arrive first,
//!   the reference is kept and resolved when the organisation or owner arrives, so the end
//!   state is the one of time order.
//! - A CRM record already in Relance without a CRM id (entered before the sync) is adopted by
//!   its email address (users and people).
//! - [`erase`]: a person's erasure (GDPR art. 17) and the merge of two people.

pub mod consumer;
pub mod dead_letters;
pub mod erase;
pub mod store;

use relance_shared::directory::external_id_problem;
use relance_shared::http::FieldError;

/// What the directory's HTTP routes need from the state.
#[derive(Clone)]
pub struct DirectoryAccess {
    /// `directory.token`; unset: the routes answer 404.
    pub token: Option<secrecy::SecretString>,
    pub max_batch: usize,
}

/// What a request or a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    /// Versions older than (or as old as) the one held: nothing changed.
    pub stale: i64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.stale += other.stale;
    }
}

/// Why versions were not applied.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Bad values, each named (`[2].owner_external_id`): nothing was written.
    #[error("invalid versions")]
    Invalid(Vec<FieldError>),
    /// An address another record holds (409): the versions are fine, the directory disagrees.
    #[error("conflicting versions")]
    Conflict(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<DirectoryError> for relance_shared::http::ApiError {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::Invalid(errors) => Self::Validation(errors),
            DirectoryError::Conflict(errors) => Self::Conflict(errors),
            DirectoryError::NotFound(message) => Self::NotFound(message),
            DirectoryError::Database(error) => error.into(),
        }
    }
}

/// How versions refer to other records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum References {
    /// Every reference must name a record the directory holds (HTTP).
    MustExist,
    /// A reference to a record not yet received is kept and resolved when it arrives (NATS).
    MayComeLater,
}

/// Names the field of version `index`: `[index].field` in a batch, `field` alone otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    pub index: usize,
    pub in_batch: bool,
}

impl Position {
    pub fn field(self, name: &str) -> String {
        if self.in_batch {
            format!("[{}].{name}", self.index)
        } else {
            name.to_owned()
        }
    }
}

/// The checks every version's text passes: ids bounded, required text present, lengths sane.
pub(crate) struct Checks<'a> {
    pub errors: &'a mut Vec<FieldError>,
    pub at: Position,
}

impl Checks<'_> {
    pub fn external_id(&mut self, name: &str, value: &str) {
        if let Some(problem) = external_id_problem(value) {
            self.errors
                .push(FieldError::new(self.at.field(name), problem));
        }
    }

    pub fn optional_external_id(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.external_id(name, value);
        }
    }

    /// Free text of at most `max` characters, without control characters (PostgreSQL cannot
    /// even store a NUL); `required`: not blank either.
    pub fn text(&mut self, name: &str, value: Option<&str>, required: bool, max: usize) {
        match value {
            Some(v) if v.trim().is_empty() && required => self
                .errors
                .push(FieldError::new(self.at.field(name), "must not be empty")),
            Some(v) if v.chars().count() > max => self.errors.push(FieldError::new(
                self.at.field(name),
                format!("must be at most {max} characters"),
            )),
            Some(v) if v.chars().any(char::is_control) => self.errors.push(FieldError::new(
                self.at.field(name),
                "must not contain control characters",
            )),
            None if required => self
                .errors
                .push(FieldError::new(self.at.field(name), "is required")),
            _ => {}
        }
    }

    pub fn email(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            let ok = v.chars().count() <= 320
                && v.split_once('@')
                    .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
                && !v.contains(char::is_whitespace);
            if !ok {
                self.errors.push(FieldError::new(
                    self.at.field(name),
                    "is not an email address",
                ));
            }
        }
    }
}
