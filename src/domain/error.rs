//! How a rule says no: the stable error codes, one field's problem, the accumulator that
//! lists every invalid field at once, and a refusal of the rules. Nothing here knows HTTP;
//! `crate::error` turns a [`Rejection`] into problem+json in one place.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

macro_rules! codes {
    ($($variant:ident = $s:literal,)*) => {
        /// Every machine-readable code a client may see, in `code` of a problem or of one
        /// of its `errors`. Named once, here; the wire spelling is the string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $s,)* }
            }
        }
    };
}

codes! {
    // Requests and protocol
    Unauthorized = "unauthorized",
    Forbidden = "forbidden",
    NotFound = "not_found",
    MethodNotAllowed = "method_not_allowed",
    MalformedBody = "malformed_body",
    PayloadTooLarge = "payload_too_large",
    HeadersTooLarge = "headers_too_large",
    UnsupportedMediaType = "unsupported_media_type",
    ValidationFailed = "validation_failed",
    InvalidQuery = "invalid_query",
    InvalidType = "invalid_type",
    UnknownField = "unknown_field",
    Required = "required",
    NotAllowed = "not_allowed",
    OutOfRange = "out_of_range",
    InvalidCursor = "invalid_cursor",
    InvalidUuid = "invalid_uuid",
    InvalidDatetime = "invalid_datetime",
    InvalidRange = "invalid_range",
    InvalidEntityType = "invalid_entity_type",
    ControlCharacter = "control_character",
    TooDeep = "too_deep",
    PreconditionRequired = "precondition_required",
    PreconditionFailed = "precondition_failed",
    IdempotencyKeyReused = "idempotency_key_reused",
    IdempotencyInProgress = "idempotency_in_progress",
    InvalidIdempotencyKey = "invalid_idempotency_key",
    TooManyAttempts = "too_many_attempts",
    Unavailable = "unavailable",
    Overloaded = "overloaded",
    GateStateStale = "gate_state_stale",
    TooManyRequests = "too_many_requests",
    Internal = "internal",
    // Accounts
    InvalidEmail = "invalid_email",
    InvalidDisplayName = "invalid_display_name",
    EmailTaken = "email_taken",
    InvalidCredentials = "invalid_credentials",
    WrongPassword = "wrong_password",
    PasswordTooShort = "password_too_short",
    PasswordTooLong = "password_too_long",
    PasswordTooCommon = "password_too_common",
    CannotDisableSelf = "cannot_disable_self",
    // Brands
    InvalidName = "invalid_name",
    InvalidStoreUrl = "invalid_store_url",
    TooLong = "too_long",
    UserNotFound = "user_not_found",
    AlreadyMember = "already_member",
    LastOwner = "last_owner",
    // Seasons
    InvalidCode = "invalid_code",
    InvalidTimezone = "invalid_timezone",
    OutOfOrder = "out_of_order",
    AfterSeasonEnd = "after_season_end",
    OutsideSeason = "outside_season",
    Overlaps = "overlaps",
    SeasonCodeTaken = "season_code_taken",
    SeasonInUse = "season_in_use",
    // Applications
    UnknownBrand = "unknown_brand",
    UnknownSeason = "unknown_season",
    InvalidLength = "invalid_length",
    InvalidUrl = "invalid_url",
    InvalidCount = "invalid_count",
    InvalidDeepLink = "invalid_deep_link",
    InvalidLandingUrl = "invalid_landing_url",
    InvalidWindow = "invalid_window",
    MustBePositive = "must_be_positive",
    ExceedsTotal = "exceeds_total",
    InvalidRegion = "invalid_region",
    InvalidAgeRange = "invalid_age_range",
    InvalidGender = "invalid_gender",
    InvalidReasonCode = "invalid_reason_code",
    InvalidTransition = "invalid_transition",
    BrandNotEligible = "brand_not_eligible",
    SeasonNotAccepting = "season_not_accepting",
    WindowOutsideSeason = "window_outside_season",
    WindowTooLong = "window_too_long",
    FourEyesRequired = "four_eyes_required",
    // Whitelist
    InvalidReason = "invalid_reason",
    WhitelistSuspended = "whitelist_suspended",
    WhitelistConflict = "whitelist_conflict",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// One problem with one field of a request, as listed in a 422 answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the field, e.g. `creative.headline` or `targeting.regions[2]`.
    #[schema(example = "creative.headline")]
    pub field: String,
    /// Stable machine-readable code, e.g. `required`, `unknown_field`, `invalid_length`.
    #[schema(value_type = String, example = "invalid_length")]
    pub code: Code,
    /// What is wrong, for people.
    #[schema(example = "Use 1 to 40 characters, without control characters.")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: Code, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Collects field errors while a whole input is parsed, so that a 422 lists them all.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value, or `None` with its error recorded.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// Records `field`'s error unless `ok`.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, code: Code, message: &str) {
        if !ok {
            self.0.push(FieldError::new(field, code, message));
        }
    }

    pub fn extend(&mut self, other: Errors) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|e| e.field.as_str())
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// `value` when nothing was recorded, else the 422 listing every error.
    pub fn finish<T>(self, value: T) -> Result<T, Rejection> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Rejection::invalid(self.0))
        }
    }
}

/// What kind of no a rule says; `crate::error` maps each to its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The caller may not do this (403).
    Forbidden,
    /// No such thing, or not one the caller may see (404).
    NotFound,
    /// Not now, given the current state (409).
    Conflict,
    /// The input breaks a rule (422).
    Unprocessable,
    /// The version the client read is no longer current (412).
    Stale,
}

/// A refusal by a rule of the product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: Kind,
    pub code: Code,
    pub detail: Cow<'static, str>,
    /// Per-field problems (422 `validation_failed` and the like).
    pub errors: Vec<FieldError>,
}

pub type Outcome<T> = Result<T, Rejection>;

/// The most field errors one answer lists.
pub const MAX_LISTED: usize = 20;

impl Rejection {
    pub fn new(kind: Kind, code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn forbidden(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Forbidden, code, detail)
    }

    /// The plain 403: the caller's role may not do this.
    pub fn role() -> Self {
        Self::forbidden(Code::Forbidden, "Your role may not do this.")
    }

    pub fn not_found() -> Self {
        Self::new(
            Kind::NotFound,
            Code::NotFound,
            "No such resource, or you may not see it.",
        )
    }

    pub fn conflict(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Conflict, code, detail)
    }

    pub fn unprocessable(code: Code, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Unprocessable, code, detail)
    }

    /// 422 `validation_failed` listing the invalid fields: at most [`MAX_LISTED`] of
    /// them, so that an answer to bad input stays small whatever was sent.
    pub fn invalid(mut errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        let detail = match n {
            1 => format!("{}: {}", errors[0].field, errors[0].message),
            n if n > MAX_LISTED => {
                format!("{n} fields are invalid; the first {MAX_LISTED} are listed.")
            }
            n => format!("{n} fields are invalid."),
        };
        errors.truncate(MAX_LISTED);
        Self {
            errors,
            ..Self::unprocessable(Code::ValidationFailed, detail)
        }
    }

    /// 422 for one field, with the field's code at the top level too.
    pub fn invalid_field(field: &str, code: Code, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            errors: vec![FieldError::new(field, code, message.clone())],
            ..Self::unprocessable(code, message)
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }
}

impl From<FieldError> for Rejection {
    fn from(e: FieldError) -> Self {
        Rejection::invalid(vec![e])
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Rejection {}

/// A text field: trimmed, `min..=max` characters, no control characters. `multiline`
/// allows line breaks (and only those) among the control characters.
pub fn text(
    field: &str,
    raw: &str,
    (min, max): (usize, usize),
    multiline: bool,
    code: Code,
    message: &str,
) -> Result<String, FieldError> {
    let s = raw.trim();
    let n = s.chars().count();
    let bad_char = s
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r')));
    if n < min || n > max || bad_char {
        return Err(FieldError::new(field, code, message));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
        }
    }

    #[test]
    fn errors_collect_and_finish() {
        let mut e = Errors::new();
        assert_eq!(e.take(Ok::<_, FieldError>(1)), Some(1));
        assert!(Errors::new().finish(()).is_ok());
        e.check(false, "a", Code::Required, "x");
        e.check(true, "b", Code::Required, "y");
        e.push(FieldError::new("c", Code::InvalidName, "z"));
        assert_eq!(e.fields().collect::<Vec<_>>(), ["a", "c"]);
        let r = e.finish(()).unwrap_err();
        assert_eq!(r.kind, Kind::Unprocessable);
        assert_eq!(r.code, Code::ValidationFailed);
        assert_eq!(r.errors.len(), 2);
    }

    #[test]
    fn a_422_lists_a_bounded_number_of_fields() {
        let many = (0..300_000)
            .map(|i| FieldError::new(format!("f[{i}]"), Code::InvalidRegion, "x"))
            .collect();
        let r = Rejection::invalid(many);
        assert_eq!(r.errors.len(), MAX_LISTED);
        assert!(r.detail.starts_with("300000 fields are invalid"));
    }

    #[test]
    fn text_fields() {
        let t = |raw: &str, multiline| text("f", raw, (1, 5), multiline, Code::InvalidName, "m");
        assert_eq!(t("  ab ", false).unwrap(), "ab");
        assert!(t("", false).is_err());
        assert!(t("abcdef", false).is_err());
        assert!(t("a\u{0}b", false).is_err());
        assert!(t("a\nb", false).is_err());
        assert_eq!(t("a\nb", true).unwrap(), "a\nb");
        assert!(t("a\u{7}b", true).is_err());
    }
}
