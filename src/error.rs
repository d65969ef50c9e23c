//! The one error type of the crate, rendered as RFC 9457 problem+json.
//!
//! Internal causes are logged, never sent: a client sees a stable `code` and a message
//! written for it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

pub use crate::domain::error::{Code, FieldError};
use crate::domain::error::{Kind, Rejection};

/// An error, as RFC 9457 problem details (`application/problem+json`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `https://moments-gate.dev/problems/{code}`.
    #[serde(rename = "type")]
    #[schema(
        format = "uri",
        example = "https://moments-gate.dev/problems/validation_failed"
    )]
    pub kind: String,
    /// The HTTP reason phrase of `status`.
    #[schema(example = "Unprocessable Entity")]
    pub title: String,
    /// The HTTP status code, repeated.
    #[schema(minimum = 400, maximum = 599, example = 422)]
    pub status: u16,
    /// What went wrong, for people.
    #[schema(example = "creative.headline: Use 1 to 40 characters, without control characters.")]
    pub detail: String,
    /// Stable machine-readable code: what a client should branch on.
    #[schema(pattern = "^[a-z][a-z0-9_]*$", example = "validation_failed")]
    pub code: String,
    /// Present when the problem concerns fields (422 `validation_failed` and the like, 409
    /// `email_taken`): one entry per field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
    /// The request's id (`X-Request-Id`, given or made), to find its log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, example = "3f9a0c1b2d4e-1a")]
    pub instance: Option<String>,
}

/// Boxed so that `Result<T, ApiError>` stays small.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    code: Code,
    detail: String,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
    allow: Option<String>,
    /// More headers of the answer (rate-limit headers).
    headers: Vec<(&'static str, String)>,
    /// Logged at error level, never shown.
    internal: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            allow: None,
            headers: Vec::new(),
            internal: None,
        }))
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> &str {
        self.0.code.as_str()
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    pub fn bad_request(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            Code::Unauthorized,
            "A valid bearer token is required.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            Code::Forbidden,
            "Your role may not do this.",
        )
    }

    pub fn forbidden_because(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "No such resource, or you may not see it.",
        )
    }

    pub fn conflict(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422 with a single code and no per-field list (rule violations such as
    /// `brand_not_eligible`).
    pub fn unprocessable(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 422 listing every invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Rejection::invalid(errors).into()
    }

    /// 422 for one field, with a code of its own at the top level too.
    pub fn invalid_field(field: &str, code: Code, message: impl Into<String>) -> Self {
        Rejection::invalid_field(field, code, message).into()
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.0.errors = errors;
        self
    }

    pub fn precondition_required() -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            Code::PreconditionRequired,
            "Send If-Match with the ETag you last read.",
        )
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            Code::PreconditionFailed,
            "The resource changed since you read it; read it again and retry.",
        )
    }

    pub fn too_many_attempts(retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::TooManyAttempts,
            "Too many failed logins for this account; wait before trying again.",
        )
        .with_retry_after(retry_after.max(1))
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            "The service cannot reach its database; retry shortly.",
        )
        .with_retry_after(2)
    }

    /// The gate cannot confirm that its state is current (the change feed has not been
    /// heard from within the configured bound): it refuses rather than guess.
    pub fn gate_state_stale(age: Option<std::time::Duration>) -> Self {
        let detail = match age {
            Some(age) => format!(
                "The gate's state was last confirmed current {} ms ago, more than it may be; retry shortly.",
                age.as_millis()
            ),
            None => "The gate's state has not been loaded yet; retry shortly.".to_owned(),
        };
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::GateStateStale,
            detail,
        )
        .with_retry_after(1)
    }

    pub fn method_not_allowed(allow: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::MethodNotAllowed,
            "This method is not allowed on this path.",
        );
        e.0.allow = Some(allow.into());
        e
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal,
            "Something went wrong on our side; it has been logged.",
        );
        e.0.internal = Some(cause.to_string());
        e
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.0.headers.push((name, value));
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.0.retry_after = Some(secs);
        self
    }

    fn title(&self) -> &'static str {
        self.0.status.canonical_reason().unwrap_or("Error")
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://moments-gate.dev/problems/{}", self.0.code),
            title: self.title().to_owned(),
            status: self.0.status.as_u16(),
            detail: self.0.detail.clone(),
            code: self.0.code.to_string(),
            errors: self.0.errors.clone(),
            instance: crate::observe::request_id(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.0.status.as_u16(),
            self.0.code,
            self.0.detail
        )
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(internal) = &self.0.internal {
            tracing::error!(
                code = %self.0.code,
                cause = %internal,
                request_id = crate::observe::request_id().unwrap_or_default(),
                "request failed"
            );
        }
        let mut res = HttpResponse::build(self.0.status);
        res.content_type("application/problem+json");
        if let Some(secs) = self.0.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(allow) = &self.0.allow {
            res.insert_header((header::ALLOW, allow.as_str()));
        }
        for (name, value) in &self.0.headers {
            res.insert_header((*name, value.as_str()));
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// Whether a database error means "the database is not there" rather than "the query is wrong".
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now,
            // 08xxx connection exceptions, 53300 too_many_connections; 57014
            // query_canceled (statement_timeout) and 55P03 lock_not_available (lock_timeout):
            // the database is too slow to answer in time, which is retried like an outage.
            db.code().is_some_and(|c| {
                c.starts_with("08")
                    || c.starts_with("57P")
                    || matches!(c.as_ref(), "53300" | "57014" | "55P03")
            })
        }
        _ => false,
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::not_found(),
            e if is_unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::unavailable()
            }
            // Class 22, data exception: a value the database cannot hold (a character it
            // cannot store, a time or number out of its range). The parsers refuse these
            // first; this is the net under them, and the transaction changed nothing.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                tracing::warn!(error = %e, "input the database refused");
                Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Code::OutOfRange,
                    "A value is outside what the service accepts.",
                )
            }
            _ => Self::internal(e),
        }
    }
}

/// A refusal by the rules, with the status of its kind. The one place where the domain's
/// refusals become HTTP.
impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let status = match r.kind {
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Stale => StatusCode::PRECONDITION_FAILED,
        };
        Self::new(status, r.code, r.detail).with_errors(r.errors)
    }
}

impl From<crate::flow::Error> for ApiError {
    fn from(e: crate::flow::Error) -> Self {
        match e {
            crate::flow::Error::Rejected(r) => r.into(),
            crate::flow::Error::Db(e) => e.into(),
            crate::flow::Error::Corrupt(why) => Self::internal(why),
        }
    }
}
