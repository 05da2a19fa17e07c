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
