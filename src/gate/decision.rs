//! The gate's rule, with no I/O: given what is known about a campaign, its brand and the
//! brand's whitelist entries for the season, may it serve at time T, and if not, why.

use crate::domain::whitelist::WhitelistStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Why a campaign may or may not serve. Exactly one reason is given, the first that applies
/// in this order (platform-level blocks first, then the brand's own state, then time):
///
/// 1. `not_found` — no such campaign (only inside a batch; a single check answers 404).
/// 2. `whitelist_revoked` — the brand's only entries for the season are revoked.
/// 3. `whitelist_suspended` — the brand's entry for the season is suspended.
/// 4. `not_whitelisted` — the brand has no entry for the season at all.
/// 5. `brand_unverified` — the brand is no longer verified.
/// 6. `paused` — the campaign is paused.
/// 7. `not_started` — T is before the campaign's `starts_at`.
/// 8. `ended` — T is at or after the campaign's `ends_at`.
/// 9. `outside_whitelist_window` — T is outside the entry's `[valid_from, valid_until)`.
/// 10. `ok` — eligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Ok,
    NotFound,
    WhitelistRevoked,
    WhitelistSuspended,
    NotWhitelisted,
    BrandUnverified,
    Paused,
    NotStarted,
    Ended,
    OutsideWhitelistWindow,
}

impl Reason {
    /// Every reason, in the order of [`Reason::index`].
    pub const ALL: [Reason; 10] = [
        Reason::Ok,
        Reason::NotFound,
        Reason::WhitelistRevoked,
        Reason::WhitelistSuspended,
        Reason::NotWhitelisted,
        Reason::BrandUnverified,
        Reason::Paused,
        Reason::NotStarted,
        Reason::Ended,
        Reason::OutsideWhitelistWindow,
    ];

    pub fn eligible(self) -> bool {
        self == Reason::Ok
    }

    /// Its place in [`Reason::ALL`] (a match, so a new reason does not compile until it
    /// has one).
    pub fn index(self) -> usize {
        match self {
            Reason::Ok => 0,
            Reason::NotFound => 1,
            Reason::WhitelistRevoked => 2,
            Reason::WhitelistSuspended => 3,
            Reason::NotWhitelisted => 4,
            Reason::BrandUnverified => 5,
            Reason::Paused => 6,
            Reason::NotStarted => 7,
            Reason::Ended => 8,
            Reason::OutsideWhitelistWindow => 9,
        }
    }

    /// Its name as answered (what serde writes, as a test holds it to).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::NotFound => "not_found",
            Reason::WhitelistRevoked => "whitelist_revoked",
            Reason::WhitelistSuspended => "whitelist_suspended",
            Reason::NotWhitelisted => "not_whitelisted",
            Reason::BrandUnverified => "brand_unverified",
            Reason::Paused => "paused",
            Reason::NotStarted => "not_started",
            Reason::Ended => "ended",
            Reason::OutsideWhitelistWindow => "outside_whitelist_window",
        }
    }
}

/// What the gate keeps of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignFacts {
    pub brand_id: Uuid,
    pub season_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub paused: bool,
}

/// The brand's entry for a season that is not revoked (at most one, by a unique index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenEntry {
    pub suspended: bool,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

/// What the gate keeps of a (brand, season)'s whitelist entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WhitelistFacts {
    pub open: Option<OpenEntry>,
    pub any_revoked: bool,
}

impl WhitelistFacts {
    /// Folds the (brand, season)'s entries; `None` when there are none.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (WhitelistStatus, DateTime<Utc>, DateTime<Utc>)>,
    ) -> Option<Self> {
        let mut facts: Option<Self> = None;
        for (status, valid_from, valid_until) in entries {
            facts
                .get_or_insert_with(Self::default)
                .add(status, valid_from, valid_until);
        }
        facts
    }

    /// Adds one more of the pair's entries (as `from_entries` does for each).
    pub fn add(
        &mut self,
        status: WhitelistStatus,
        valid_from: DateTime<Utc>,
        valid_until: DateTime<Utc>,
    ) {
        match status {
            WhitelistStatus::Revoked => self.any_revoked = true,
            s => {
                self.open = Some(OpenEntry {
                    suspended: s == WhitelistStatus::Suspended,
                    valid_from,
                    valid_until,
                })
            }
        }
    }
}

/// The gate's decision; see [`Reason`] for the precedence.
pub fn decide(
    campaign: Option<&CampaignFacts>,
    whitelist: Option<&WhitelistFacts>,
    brand_verified: bool,
    at: DateTime<Utc>,
) -> Reason {
    let Some(c) = campaign else {
        return Reason::NotFound;
    };
    let entry = match whitelist {
        Some(WhitelistFacts {
            open: Some(e),
            any_revoked: _,
        }) => e,
        Some(WhitelistFacts {
            open: None,
            any_revoked: true,
        }) => return Reason::WhitelistRevoked,
        _ => return Reason::NotWhitelisted,
    };
    if entry.suspended {
        return Reason::WhitelistSuspended;
    }
    if !brand_verified {
        return Reason::BrandUnverified;
    }
    if c.paused {
        return Reason::Paused;
    }
    if at < c.starts_at {
        return Reason::NotStarted;
    }
    if at >= c.ends_at {
        return Reason::Ended;
    }
    if at < entry.valid_from || at >= entry.valid_until {
        return Reason::OutsideWhitelistWindow;
    }
    Reason::Ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 6, day, 0, 0, 0).unwrap()
    }

    /// Campaign runs [10, 20); the entry is valid [5, 18).
    fn campaign() -> CampaignFacts {
        CampaignFacts {
            brand_id: Uuid::nil(),
            season_id: Uuid::nil(),
            starts_at: t(10),
            ends_at: t(20),
            paused: false,
        }
    }

    fn open(suspended: bool) -> WhitelistFacts {
        WhitelistFacts {
            open: Some(OpenEntry {
                suspended,
                valid_from: t(5),
                valid_until: t(18),
            }),
            any_revoked: false,
        }
    }

    fn revoked_only() -> WhitelistFacts {
        WhitelistFacts {
            open: None,
            any_revoked: true,
        }
    }

    #[test]
    fn every_reason_is_named_as_serde_names_it_and_indexed_in_order() {
        for (i, r) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(r.index(), i);
            assert_eq!(Reason::ALL[r.index()], r);
        }
    }

    #[test]
    fn eligible_inside_both_windows() {
        let r = decide(Some(&campaign()), Some(&open(false)), true, t(12));
        assert_eq!(r, Reason::Ok);
        assert!(r.eligible());
        // The start is inclusive.
        assert_eq!(
            decide(Some(&campaign()), Some(&open(false)), true, t(10)),
            Reason::Ok
        );
    }

    #[test]
    fn each_reason() {
        let c = campaign();
        let wl = open(false);
        assert_eq!(decide(None, Some(&wl), true, t(12)), Reason::NotFound);
        assert_eq!(
            decide(Some(&c), Some(&revoked_only()), true, t(12)),
            Reason::WhitelistRevoked
        );
        assert_eq!(
            decide(Some(&c), Some(&open(true)), true, t(12)),
            Reason::WhitelistSuspended
        );
        assert_eq!(decide(Some(&c), None, true, t(12)), Reason::NotWhitelisted);
        assert_eq!(
            decide(Some(&c), Some(&wl), false, t(12)),
            Reason::BrandUnverified
        );
        let paused = CampaignFacts { paused: true, ..c };
        assert_eq!(
            decide(Some(&paused), Some(&wl), true, t(12)),
            Reason::Paused
        );
        assert_eq!(decide(Some(&c), Some(&wl), true, t(9)), Reason::NotStarted);
        // The end is exclusive.
        assert_eq!(decide(Some(&c), Some(&wl), true, t(20)), Reason::Ended);
        assert_eq!(decide(Some(&c), Some(&wl), true, t(25)), Reason::Ended);
        // Inside the campaign, outside the entry's window (its end is exclusive too).
        assert_eq!(
            decide(Some(&c), Some(&wl), true, t(18)),
            Reason::OutsideWhitelistWindow
        );
        let early = WhitelistFacts {
            open: Some(OpenEntry {
                valid_from: t(11),
                ..wl.open.unwrap()
            }),
            ..wl
        };
        assert_eq!(
            decide(Some(&c), Some(&early), true, t(10)),
            Reason::OutsideWhitelistWindow
        );
    }

    #[test]
    fn an_open_entry_wins_over_revoked_ones() {
        let wl = WhitelistFacts {
            any_revoked: true,
            ..open(false)
        };
        assert_eq!(
            decide(Some(&campaign()), Some(&wl), true, t(12)),
            Reason::Ok
        );
        let wl = WhitelistFacts {
            any_revoked: true,
            ..open(true)
        };
        assert_eq!(
            decide(Some(&campaign()), Some(&wl), true, t(12)),
            Reason::WhitelistSuspended
        );
    }

    #[test]
    fn precedence() {
        // Everything wrong at once: each reason shows only once those before it are fixed.
        let mut c = CampaignFacts {
            paused: true,
            ..campaign()
        };
        let at = t(25); // ended, and outside the entry's window
        assert_eq!(
            decide(Some(&c), Some(&revoked_only()), false, at),
            Reason::WhitelistRevoked
        );
        assert_eq!(
            decide(Some(&c), Some(&open(true)), false, at),
            Reason::WhitelistSuspended
        );
        assert_eq!(decide(Some(&c), None, false, at), Reason::NotWhitelisted);
        assert_eq!(
            decide(Some(&c), Some(&open(false)), false, at),
            Reason::BrandUnverified
        );
        assert_eq!(
            decide(Some(&c), Some(&open(false)), true, at),
            Reason::Paused
        );
        c.paused = false;
        // Not started wins over outside the entry's window (t(1) is before both).
        assert_eq!(
            decide(Some(&c), Some(&open(false)), true, t(1)),
            Reason::NotStarted
        );
        assert_eq!(
            decide(Some(&c), Some(&open(false)), true, at),
            Reason::Ended
        );
        assert_eq!(
            decide(Some(&c), Some(&open(false)), true, t(19)),
            Reason::OutsideWhitelistWindow
        );
        assert_eq!(
            decide(Some(&c), Some(&open(false)), true, t(15)),
            Reason::Ok
        );
    }

    #[test]
    fn entries_fold() {
        assert_eq!(WhitelistFacts::from_entries([]), None);
        let f = WhitelistFacts::from_entries([
            (WhitelistStatus::Revoked, t(1), t(2)),
            (WhitelistStatus::Suspended, t(5), t(18)),
        ])
        .unwrap();
        assert!(f.any_revoked);
        assert_eq!(f.open, open(true).open);
        let f = WhitelistFacts::from_entries([(WhitelistStatus::Revoked, t(1), t(2))]).unwrap();
        assert_eq!(f, revoked_only());
    }
}
