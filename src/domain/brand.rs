//! Brands: their names, kinds, store URLs, members and verification decisions.

use super::error::{Code, FieldError, Kind, Rejection, text};
use super::url;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum BrandKind {
    /// A brand account (flagship store): eligible for the whitelist.
    Brand,
    /// A reseller: may register, never eligible.
    IndependentRetailer,
}

impl BrandKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BrandKind::Brand => "brand",
            BrandKind::IndependentRetailer => "independent_retailer",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Verification {
    Pending,
    Verified,
    Rejected,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Pending => "pending",
            Verification::Verified => "verified",
            Verification::Rejected => "rejected",
        }
    }
}

/// What a reviewer decides about a brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationDecision {
    Verified,
    Rejected,
}

impl VerificationDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationDecision::Verified => "verified",
            VerificationDecision::Rejected => "rejected",
        }
    }
}

impl From<VerificationDecision> for Verification {
    fn from(d: VerificationDecision) -> Self {
        match d {
            VerificationDecision::Verified => Verification::Verified,
            VerificationDecision::Rejected => Verification::Rejected,
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Brand {
    pub id: Uuid,
    pub name: String,
    pub kind: BrandKind,
    /// An https URL on tmall.com or a subdomain of it.
    #[schema(
        format = "uri",
        max_length = 2048,
        example = "https://lining.tmall.com/"
    )]
    pub tmall_store_url: String,
    pub verification: Verification,
    /// Why the brand was rejected (or a note on its verification).
    #[schema(max_length = 1000)]
    pub verification_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Brand {
    /// SPEC §1, §3: only verified brand accounts (flagship stores) may run these ads;
    /// checked at submit and again at approval (422 `brand_not_eligible`).
    pub fn check_eligible(&self) -> Result<(), Rejection> {
        eligibility(self.kind, self.verification)
    }
}

/// Whether a brand of this kind and verification may apply; see [`Brand::check_eligible`].
pub fn eligibility(kind: BrandKind, verification: Verification) -> Result<(), Rejection> {
    let why = if kind != BrandKind::Brand {
        "Only brand accounts (flagship stores) may run these ads; independent retailers are not eligible."
    } else if verification != Verification::Verified {
        "The brand has not been verified by the platform yet."
    } else {
        return Ok(());
    };
    Err(Rejection::new(
        Kind::Unprocessable,
        Code::BrandNotEligible,
        why,
    ))
}

/// Who may manage a brand's members: admins, and the brand's owners. A member who is not
/// an owner is refused (403); a reviewer too. `role` is the actor's membership, `None` when
/// they are no member (then they never saw the brand: 404).
pub fn may_manage_members(
    actor_role: super::user::Role,
    membership: Option<MemberRole>,
) -> Result<(), Rejection> {
    use super::user::Role;
    match (actor_role, membership) {
        (Role::Admin, _) => Ok(()),
        (Role::Reviewer, _) => Err(Rejection::role()),
        (Role::Marketer, Some(MemberRole::Owner)) => Ok(()),
        (Role::Marketer, Some(MemberRole::Member)) => Err(Rejection::role()),
        (Role::Marketer, None) => Err(Rejection::not_found()),
    }
}

/// A brand keeps at least one owner (409 `last_owner`).
pub fn check_removal(removed: MemberRole, owners: i64) -> Result<(), Rejection> {
    if removed == MemberRole::Owner && owners <= 1 {
        return Err(Rejection::conflict(
            Code::LastOwner,
            "A brand keeps at least one owner; add another owner first.",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum MemberRole {
    Owner,
    Member,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Owner => "owner",
            MemberRole::Member => "member",
        }
    }
}

/// A brand's name: 1–200 characters after trimming, no control characters.
#[derive(Debug, Clone)]
pub struct BrandName(String);

impl BrandName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        text(
            "name",
            raw,
            (1, 200),
            false,
            Code::InvalidName,
            "A brand's name has 1 to 200 characters and no control characters.",
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Tmall store URL: https, host `tmall.com` or a subdomain of it, no credentials.
#[derive(Debug, Clone)]
pub struct StoreUrl(String);

impl StoreUrl {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        url::parse(raw)
            .filter(|u| u.is_within(url::TMALL))
            .map(|u| Self(u.as_str().to_owned()))
            .ok_or_else(|| {
                FieldError::new(
                    "tmall_store_url",
                    Code::InvalidStoreUrl,
                    "The store URL is an https address on tmall.com or a subdomain of it.",
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The note of a verification decision: required (1–1000 characters) when rejecting,
/// optional otherwise; blank counts as absent. Counted as sent (the document's
/// `maxLength`), stored trimmed.
pub fn decision_note(
    decision: VerificationDecision,
    note: Option<&str>,
) -> Result<Option<String>, FieldError> {
    if note.is_some_and(|n| n.chars().count() > 1000) {
        return Err(FieldError::new(
            "note",
            Code::TooLong,
            "A note has at most 1000 characters.",
        ));
    }
    match note.map(str::trim).filter(|s| !s.is_empty()) {
        None if decision == VerificationDecision::Rejected => Err(FieldError::new(
            "note",
            Code::Required,
            "Say why the brand is rejected (1 to 1000 characters).",
        )),
        None => Ok(None),
        Some(n) => Ok(Some(n.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        for ok in [
            "https://tmall.com",
            "https://nike.tmall.com/shop",
            "https://a.b.tmall.com/x?y=1",
            "https://NIKE.TMALL.COM/",
            "https://tmall.com./",
        ] {
            assert!(StoreUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://x.tmall.com",
            "https://tmall.com.evil.example",
            "https://eviltmall.com",
            "https://tmall.com@evil.example",
            "https://user:pw@nike.tmall.com",
            "https://evil.example/?https://tmall.com",
            "https://evil.example#.tmall.com",
            "ftp://tmall.com",
            "tmall.com",
            "https://1.2.3.4",
            "https://tmall.com:8443/",
            "",
        ] {
            let e = StoreUrl::parse(bad).unwrap_err();
            assert_eq!(e.code, "invalid_store_url", "{bad}");
            assert_eq!(e.field, "tmall_store_url");
        }
    }

    #[test]
    fn names() {
        assert_eq!(BrandName::parse("  Nike ").unwrap().as_str(), "Nike");
        assert!(BrandName::parse(&"x".repeat(200)).is_ok());
        assert!(BrandName::parse(&"x".repeat(201)).is_err());
        assert!(BrandName::parse("  ").is_err());
        assert!(BrandName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn notes() {
        use VerificationDecision::*;
        assert_eq!(decision_note(Verified, None).unwrap(), None);
        assert_eq!(decision_note(Verified, Some(" ")).unwrap(), None);
        // Counted as sent: 1000 characters with a space around them are too many.
        let full = "x".repeat(1000);
        assert_eq!(
            decision_note(Rejected, Some(&full)).unwrap(),
            Some(full.clone())
        );
        let padded = format!(" {full}");
        assert_eq!(
            decision_note(Rejected, Some(&padded)).unwrap_err().code,
            "too_long"
        );
        // Blank but past the bound is too long too, not merely absent.
        let blank = " ".repeat(1001);
        assert_eq!(
            decision_note(Verified, Some(&blank)).unwrap_err().code,
            "too_long"
        );
        assert_eq!(decision_note(Rejected, None).unwrap_err().code, "required");
        assert_eq!(
            decision_note(Rejected, Some("")).unwrap_err().code,
            "required"
        );
        assert_eq!(
            decision_note(Rejected, Some(" fake ")).unwrap(),
            Some("fake".into())
        );
        assert!(decision_note(Rejected, Some(&"x".repeat(1000))).is_ok());
        assert_eq!(
            decision_note(Verified, Some(&"x".repeat(1001)))
                .unwrap_err()
                .code,
            "too_long"
        );
    }

    #[test]
    fn eligibility_needs_a_verified_brand_account() {
        use BrandKind::*;
        use Verification::*;
        assert!(eligibility(Brand, Verified).is_ok());
        for (k, v) in [
            (Brand, Pending),
            (Brand, Rejected),
            (IndependentRetailer, Verified),
            (IndependentRetailer, Pending),
        ] {
            let r = eligibility(k, v).unwrap_err();
            assert_eq!(
                (r.kind, r.code),
                (Kind::Unprocessable, Code::BrandNotEligible)
            );
        }
    }

    #[test]
    fn who_manages_members() {
        use super::super::user::Role::*;
        assert!(may_manage_members(Admin, None).is_ok());
        assert!(may_manage_members(Marketer, Some(MemberRole::Owner)).is_ok());
        assert_eq!(
            may_manage_members(Marketer, Some(MemberRole::Member))
                .unwrap_err()
                .kind,
            Kind::Forbidden
        );
        assert_eq!(
            may_manage_members(Reviewer, None).unwrap_err().kind,
            Kind::Forbidden
        );
        assert_eq!(
            may_manage_members(Marketer, None).unwrap_err().kind,
            Kind::NotFound
        );
    }

    #[test]
    fn the_last_owner_stays() {
        assert_eq!(
            check_removal(MemberRole::Owner, 1).unwrap_err().code,
            Code::LastOwner
        );
        assert!(check_removal(MemberRole::Owner, 2).is_ok());
        assert!(check_removal(MemberRole::Member, 1).is_ok());
    }
}
