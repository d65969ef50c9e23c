//! Brands: their names, kinds, store URLs, members and verification decisions.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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
        let s = raw.trim();
        let n = s.chars().count();
        if n == 0 || n > 200 || s.chars().any(char::is_control) {
            return Err(FieldError::new(
                "name",
                "invalid_name",
                "A brand's name has 1 to 200 characters and no control characters.",
            ));
        }
        Ok(Self(s.to_owned()))
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
        let bad = || {
            FieldError::new(
                "tmall_store_url",
                "invalid_store_url",
                "The store URL is an https address on tmall.com or a subdomain of it.",
            )
        };
        let s = raw.trim();
        if s.len() > 2048 {
            return Err(bad());
        }
        let url = url::Url::parse(s).map_err(|_| bad())?;
        if url.scheme() != "https" || !url.username().is_empty() || url.password().is_some() {
            return Err(bad());
        }
        if url.port().is_some() {
            return Err(bad());
        }
        let Some(url::Host::Domain(host)) = url.host() else {
            return Err(bad());
        };
        let host = host.trim_end_matches('.');
        if !is_tmall_host(host) {
            return Err(bad());
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_tmall_host(host: &str) -> bool {
    // The url crate has already lower-cased and IDNA-normalised the host.
    host == "tmall.com"
        || host
            .strip_suffix(".tmall.com")
            .is_some_and(|sub| !sub.is_empty() && sub.split('.').all(|l| !l.is_empty()))
}

/// The note of a verification decision: required (1–1000 characters) when rejecting,
/// optional otherwise; blank counts as absent.
pub fn decision_note(
    decision: VerificationDecision,
    note: Option<&str>,
) -> Result<Option<String>, FieldError> {
    let note = note.map(str::trim).filter(|s| !s.is_empty());
    match note {
        None if decision == VerificationDecision::Rejected => Err(FieldError::new(
            "note",
            "required",
            "Say why the brand is rejected (1 to 1000 characters).",
        )),
        None => Ok(None),
        Some(n) if n.chars().count() > 1000 => Err(FieldError::new(
            "note",
            "too_long",
            "A note has at most 1000 characters.",
        )),
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
}
