//! The use cases: one function per action of the product. Each takes the caller's
//! transaction, the acting party and domain types; loads the facts (locking what it will
//! change), asks the domain's rules, changes the rows, writes the audit event in the same
//! transaction, and returns domain types. `crate::api` and `crate::demo` both call these,
//! so a rule holds however an action is taken.

pub mod accounts;
pub mod api_keys;
pub mod applications;
pub mod brands;
pub mod campaigns;
pub mod seasons;
pub mod whitelist;

use crate::domain::error::{FieldError, Rejection};

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule of the product said no.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The database failed (or is away).
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The database holds what its invariants forbid: never answered as a rule.
    #[error("inconsistent data: {0}")]
    Corrupt(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Rejected(e.into())
    }
}

/// The value, or 404 `not_found`: for a row the actor may not see or that is not there.
pub fn found<T>(row: Option<T>) -> Result<T> {
    row.ok_or_else(|| Rejection::not_found().into())
}

/// Turns a named constraint violation into the refusal that explains it; any other
/// database error passes through unchanged. The database enforces, the code explains.
pub trait OnConstraint<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> Rejection) -> Result<T>;
}

impl<T> OnConstraint<T> for std::result::Result<T, sqlx::Error> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> Rejection) -> Result<T> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.constraint() == Some(name) => f().into(),
            _ => e.into(),
        })
    }
}
