//! Why a reviewer rejects an application or sends it back (SPEC §3), and how to fix it.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ReasonCode {
    BrandIneligible,
    CreativePolicy,
    LandingPage,
    Targeting,
    Budget,
    Other,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 6] = [
        ReasonCode::BrandIneligible,
        ReasonCode::CreativePolicy,
        ReasonCode::LandingPage,
        ReasonCode::Targeting,
        ReasonCode::Budget,
        ReasonCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BrandIneligible => "brand_ineligible",
            Self::CreativePolicy => "creative_policy",
            Self::LandingPage => "landing_page",
            Self::Targeting => "targeting",
            Self::Budget => "budget",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What the reason means.
    pub fn title(self) -> &'static str {
        match self {
            Self::BrandIneligible => "The brand is not eligible",
            Self::CreativePolicy => "The creative breaks the ad policy",
            Self::LandingPage => "The landing page is not acceptable",
            Self::Targeting => "The targeting is not acceptable",
            Self::Budget => "The budget or bid is not acceptable",
            Self::Other => "Another reason",
        }
    }

    /// How the brand can fix it.
    pub fn remediation(self) -> &'static str {
        match self {
            Self::BrandIneligible => {
                "Only verified brand accounts (flagship stores) may apply. Have the brand verified, or apply from the brand's own account rather than a retailer's."
            }
            Self::CreativePolicy => {
                "Revise the headline, body, images or logo so they follow the Moments ad policy: no superlatives without proof, no misleading prices, images of the advertised products."
            }
            Self::LandingPage => {
                "Point the deep link and the web fallback at the brand's own Tmall store or product pages, and make sure both open."
            }
            Self::Targeting => {
                "Adjust regions, ages, genders or interests; targeting must not single out protected groups or minors."
            }
            Self::Budget => {
                "Raise the bid to at least the season's floor, or make the daily cap and the total consistent with the requested window."
            }
            Self::Other => "Read the reviewer's note, change what it asks for and submit again.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_explained() {
        for c in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert!(!c.title().is_empty() && !c.remediation().is_empty());
        }
        assert_eq!(ReasonCode::parse("fraud"), None);
    }
}
