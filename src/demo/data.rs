//! The demo data itself: logins, the 618 and Double 11 seasons of the coming year, five
//! brands, and a plan of applications that reaches every status of SPEC §3.

#[cfg(test)]
use crate::domain::application::Action;
use crate::domain::application::parts::MAX_RUN_DAYS;
use crate::domain::application::{Budget, Creative, Landing, Parts, Targeting, Window};
use crate::domain::brand::BrandKind;
use crate::domain::season::{DEFAULT_TIMEZONE, Phase, SeasonSpec};
use crate::domain::user::Role;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

/// The password of every demo account (published: these accounts are for trying it out).
pub const PASSWORD: &str = "moments-gate-demo";

/// A demo account, as printed for people to log in with.
pub struct Login {
    pub email: &'static str,
    pub role: Role,
    pub name: &'static str,
    pub about: &'static str,
}

pub(super) const ADMIN: &str = "admin@demo.example";
const REVIEWER_1: &str = "reviewer1@demo.example";
const REVIEWER_2: &str = "reviewer2@demo.example";
const JADE_PEAK: &str = "jadepeak@demo.example";
const LUMIERE: &str = "lumiere@demo.example";
const YUNSHAN: &str = "yunshan@demo.example";
const ORBIT: &str = "orbit@demo.example";
const BARGAIN: &str = "bargain@demo.example";
pub(super) const AGENCY: &str = "agency@demo.example";

/// The admin comes first: the reviewers are created by it.
pub const LOGINS: [Login; 9] = [
    Login {
        email: ADMIN,
        role: Role::Admin,
        name: "Zhou Min",
        about: "seasons, users, API keys; can do all a reviewer can",
    },
    Login {
        email: REVIEWER_1,
        role: Role::Reviewer,
        name: "Chen Jing",
        about: "rejected the appeal now in the queue, so may not decide it",
    },
    Login {
        email: REVIEWER_2,
        role: Role::Reviewer,
        name: "Li Na",
        about: "may claim the appeal (four eyes); has one in review",
    },
    Login {
        email: JADE_PEAK,
        role: Role::Marketer,
        name: "Liu Yang",
        about: "owner of Jade Peak Outdoor (whitelisted for 618)",
    },
    Login {
        email: LUMIERE,
        role: Role::Marketer,
        name: "Sun Li",
        about: "owner of Lumière Skincare (an appeal, a change request)",
    },
    Login {
        email: YUNSHAN,
        role: Role::Marketer,
        name: "Huang Wei",
        about: "owner of Yunshan Tea (whitelist entry suspended)",
    },
    Login {
        email: ORBIT,
        role: Role::Marketer,
        name: "Xu Tao",
        about: "owner of Orbit Audio (brand not verified yet)",
    },
    Login {
        email: BARGAIN,
        role: Role::Marketer,
        name: "Ma Jun",
        about: "owner of Bargain Corner (independent retailer)",
    },
    Login {
        email: AGENCY,
        role: Role::Marketer,
        name: "Gao Lei",
        about: "agency: member of Jade Peak Outdoor and Lumière Skincare",
    },
];

// ---- the seasons ----

/// Midnight of a date in Shanghai (which has no daylight saving time).
fn shanghai(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(year, month, day, 0, 0, 0)
        .single()
        .expect("a valid date")
        .with_timezone(&Utc)
}

fn phase(name: &str, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Phase {
    Phase {
        name: name.to_owned(),
        starts_at,
        ends_at,
    }
}

/// 618 of `year`: applications open when the year before's close, so one 618 always
/// accepts them; the run is 20 May to 20 June.
pub fn season_618(year: i32) -> SeasonSpec {
    let d = |m, day| shanghai(year, m, day);
    SeasonSpec {
        code: format!("618-{year}"),
        name: format!("618 Mid-Year Shopping Festival {year}"),
        timezone: DEFAULT_TIMEZONE.to_owned(),
        applications_open_at: shanghai(year - 1, 6, 10),
        applications_close_at: d(6, 10),
        starts_at: d(5, 20),
        ends_at: d(6, 21),
        phases: vec![
            phase("Presale", d(5, 20), d(5, 31)),
            phase("Opening days", d(6, 1), d(6, 4)),
            phase("Final days", d(6, 15), d(6, 21)),
        ],
    }
}

/// Double 11 of `year`: applications from 10 June to 25 October, the run 20 October to
/// 11 November.
pub fn season_double11(year: i32) -> SeasonSpec {
    let d = |m, day| shanghai(year, m, day);
    SeasonSpec {
        code: format!("double11-{year}"),
        name: format!("Double 11 Global Shopping Festival {year}"),
        timezone: DEFAULT_TIMEZONE.to_owned(),
        applications_open_at: d(6, 10),
        applications_close_at: d(10, 25),
        starts_at: d(10, 20),
        ends_at: d(11, 12),
        phases: vec![
            phase("Presale", d(10, 20), d(10, 31)),
            phase("First wave", d(10, 31), d(11, 4)),
            phase("Final days", d(11, 10), d(11, 12)),
        ],
    }
}

/// The year of the demo seasons: the first whose 618 still accepts applications at `now`.
pub fn demo_year(now: DateTime<Utc>) -> i32 {
    let year = now.with_timezone(&Shanghai).year();
    if now < season_618(year).applications_close_at {
        year
    } else {
        year + 1
    }
}

// ---- the brands ----

pub(super) struct DemoBrand {
    pub(super) name: &'static str,
    pub(super) slug: &'static str,
    pub(super) kind: BrandKind,
    pub(super) url: &'static str,
    pub(super) shop_id: u32,
    pub(super) owner: &'static str,
    /// The reviewer who verified it, and their note; `None`: still pending.
    pub(super) verified_by: Option<(&'static str, &'static str)>,
    /// The agency is a member too.
    pub(super) agency: bool,
    /// regions, age_min, age_max, genders, interests
    pub(super) audience: (
        &'static [&'static str],
        i32,
        i32,
        &'static [&'static str],
        &'static [&'static str],
    ),
}

pub(super) const BRANDS: [DemoBrand; 5] = [
    DemoBrand {
        name: "Jade Peak Outdoor",
        slug: "jadepeak",
        kind: BrandKind::Brand,
        url: "https://jadepeak.tmall.com/",
        shop_id: 61_200_417,
        owner: JADE_PEAK,
        verified_by: Some((
            REVIEWER_1,
            "Trademark certificate and flagship store authorisation checked.",
        )),
        agency: true,
        audience: (
            &["CN-SH", "CN-ZJ", "CN-JS", "CN-SC"],
            22,
            45,
            &[],
            &["trail running", "hiking", "camping"],
        ),
    },
    DemoBrand {
        name: "Lumière Skincare",
        slug: "lumiere",
        kind: BrandKind::Brand,
        url: "https://lumiereskincare.tmall.com/",
        shop_id: 58_930_122,
        owner: LUMIERE,
        verified_by: Some((
            REVIEWER_2,
            "Brand owner's authorisation for the flagship store on file.",
        )),
        agency: true,
        audience: (
            &["CN-SH", "CN-BJ", "CN-GD"],
            20,
            40,
            &["female"],
            &["skincare", "beauty"],
        ),
    },
    DemoBrand {
        name: "Yunshan Tea",
        slug: "yunshantea",
        kind: BrandKind::Brand,
        url: "https://yunshantea.tmall.com/",
        shop_id: 47_015_836,
        owner: YUNSHAN,
        verified_by: Some((REVIEWER_1, "Trademark and food licence checked.")),
        agency: false,
        audience: (&[], 28, 60, &[], &["tea", "gifts"]),
    },
    DemoBrand {
        name: "Orbit Audio",
        slug: "orbitaudio",
        kind: BrandKind::Brand,
        url: "https://orbitaudio.tmall.com/",
        shop_id: 73_402_981,
        owner: ORBIT,
        verified_by: None,
        agency: false,
        audience: (&["CN-GD", "CN-SH"], 18, 35, &[], &["music", "commuting"]),
    },
    DemoBrand {
        name: "Bargain Corner",
        slug: "bargaincorner",
        kind: BrandKind::IndependentRetailer,
        url: "https://bargaincorner.tmall.com/",
        shop_id: 80_117_305,
        owner: BARGAIN,
        verified_by: Some((
            REVIEWER_2,
            "A genuine store, but a reseller: not eligible for Moments ads.",
        )),
        agency: false,
        audience: (&[], 18, 65, &[], &["snacks"]),
    },
];

// ---- the applications ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    S618,
    Double11,
}

/// What happens to an application after its creator makes the draft. Member steps are
/// taken by the creator; the others name the reviewer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step {
    Submit,
    Withdraw,
    Appeal,
    Claim(&'static str),
    Approve(&'static str),
    /// reviewer, reason code, note
    Reject(&'static str, &'static str, &'static str),
    RequestChanges(&'static str, &'static str, &'static str),
    /// Suspends the brand's whitelist entry for the season: reviewer, reason.
    Suspend(&'static str, &'static str),
}

impl Step {
    /// The lifecycle action and the reviewer who takes it (`None`: the creator); `None`
    /// for a suspension, which is a step of the whitelist entry, not of the application.
    #[cfg(test)]
    fn action(self) -> Option<(Action, Option<&'static str>)> {
        Some(match self {
            Step::Submit => (Action::Submit, None),
            Step::Withdraw => (Action::Withdraw, None),
            Step::Appeal => (Action::Appeal, None),
            Step::Claim(r) => (Action::Claim, Some(r)),
            Step::Approve(r) => (Action::Approve, Some(r)),
            Step::Reject(r, ..) => (Action::Reject, Some(r)),
            Step::RequestChanges(r, ..) => (Action::RequestChanges, Some(r)),
            Step::Suspend(..) => return None,
        })
    }
}

pub(super) struct DemoApp {
    pub(super) brand: usize,
    pub(super) season: Which,
    pub(super) by: &'static str,
    pub(super) title: &'static str,
    /// headline, body; `None`: not written yet (a draft)
    pub(super) creative: Option<(&'static str, &'static str)>,
    /// the page of the brand's store the ad opens
    pub(super) landing: Option<&'static str>,
    /// days after the season starts: from, to
    pub(super) window: Option<(i64, i64)>,
    /// total, daily cap, CPM bid, all in fen
    pub(super) budget: Option<(i64, Option<i64>, i64)>,
    pub(super) targeting: bool,
    pub(super) steps: &'static [Step],
}

const JADE: usize = 0;
const LUMI: usize = 1;
const TEA: usize = 2;
const ORB: usize = 3;
const BARG: usize = 4;

/// Every status of SPEC §3; windows are days after 20 May (618) or 20 October (Double 11).
pub(super) const APPLICATIONS: [DemoApp; 12] = [
    DemoApp {
        brand: JADE,
        season: Which::S618,
        by: JADE_PEAK,
        title: "618 presale: trail running collection",
        creative: Some((
            "Trail season starts at Jade Peak",
            "Lightweight trail shoes and packs for the summer. Presale deposits get 20% off.",
        )),
        landing: Some("/campaign/618-presale"),
        window: Some((0, 15)),
        budget: Some((30_000_000, Some(3_000_000), 4_500)),
        targeting: true,
        steps: &[
            Step::Submit,
            Step::Claim(REVIEWER_1),
            Step::Approve(REVIEWER_1),
        ],
    },
    DemoApp {
        brand: JADE,
        season: Which::S618,
        by: AGENCY,
        title: "618 final days: tents and camping gear",
        creative: Some((
            "Camp under the 618 stars",
            "Tents, sleeping bags and stoves from Jade Peak, at festival prices until 20 June.",
        )),
        landing: Some("/category/camping"),
        window: Some((26, 32)),
        budget: Some((12_000_000, Some(2_000_000), 5_000)),
        targeting: true,
        steps: &[Step::Submit, Step::Claim(REVIEWER_2)],
    },
    DemoApp {
        brand: JADE,
        season: Which::S618,
        by: JADE_PEAK,
        title: "618 opening days: trail shoes flash sale",
        creative: Some((
            "72 hours of trail shoes at 618 prices",
            "From 1 to 3 June only: the Ridge and Summit trail shoes at their best price of the year.",
        )),
        landing: Some("/campaign/618-shoes"),
        window: Some((12, 15)),
        budget: Some((8_000_000, Some(3_000_000), 6_000)),
        targeting: true,
        steps: &[Step::Submit],
    },
    DemoApp {
        brand: JADE,
        season: Which::Double11,
        by: AGENCY,
        title: "Double 11 presale: down jackets",
        creative: Some((
            "Winter-ready down from Jade Peak",
            "Draft: images and budget to follow.",
        )),
        landing: None,
        window: Some((0, 11)),
        budget: None,
        targeting: false,
        steps: &[],
    },
    DemoApp {
        brand: LUMI,
        season: Which::S618,
        by: LUMIERE,
        title: "618 opening days: Radiance serum launch",
        creative: Some((
            "China's No. 1 brightening serum",
            "Meet Radiance, our new vitamin C serum. Opening-day gift set with every order.",
        )),
        landing: Some("/campaign/radiance"),
        window: Some((11, 15)),
        budget: Some((20_000_000, Some(6_000_000), 8_000)),
        targeting: true,
        steps: &[
            Step::Submit,
            Step::Claim(REVIEWER_1),
            Step::Reject(
                REVIEWER_1,
                "creative_policy",
                "\"China's No. 1\" is a superlative without proof. Remove it or attach the \
                 ranking certificate.",
            ),
            Step::Appeal,
        ],
    },
    DemoApp {
        brand: LUMI,
        season: Which::S618,
        by: AGENCY,
        title: "618 presale: gift sets for two",
        creative: Some((
            "Gift sets for two, 618 presale",
            "Cleanser, serum and cream in a gift box for you and someone you love.",
        )),
        landing: Some("/campaign/gift-sets"),
        window: Some((0, 12)),
        budget: Some((6_000_000, Some(600_000), 7_000)),
        targeting: true,
        steps: &[
            Step::Submit,
            Step::Claim(REVIEWER_2),
            Step::RequestChanges(
                REVIEWER_2,
                "targeting",
                "Interests target skincare shoppers but the ages start at 20; for gift sets \
                 for couples please widen the ages or explain the choice.",
            ),
        ],
    },
    DemoApp {
        brand: TEA,
        season: Which::S618,
        by: YUNSHAN,
        title: "618: first-flush Longjing green tea",
        creative: Some((
            "First-flush Longjing, picked this spring",
            "Hand-picked on the Yunshan slopes and pan-fired the same day.",
        )),
        landing: Some("/campaign/longjing"),
        window: Some((0, 26)),
        budget: Some((15_000_000, Some(1_000_000), 4_000)),
        targeting: true,
        steps: &[
            Step::Submit,
            Step::Claim(REVIEWER_2),
            Step::Approve(REVIEWER_2),
            Step::Suspend(
                REVIEWER_1,
                "Consumer complaints about counterfeit packaging are being investigated.",
            ),
        ],
    },
    DemoApp {
        brand: TEA,
        season: Which::S618,
        by: YUNSHAN,
        title: "618 final days: porcelain tea sets",
        creative: Some((
            "Tea sets from Jingdezhen kilns",
            "Porcelain tea sets for your Longjing, at 618 prices until 20 June.",
        )),
        landing: Some("/category/teaware"),
        window: Some((26, 32)),
        budget: Some((5_000_000, None, 4_000)),
        targeting: true,
        steps: &[Step::Submit],
    },
    DemoApp {
        brand: TEA,
        season: Which::S618,
        by: YUNSHAN,
        title: "618: tea gift boxes",
        creative: Some((
            "Tea gift boxes for every occasion",
            "Six teas from six provinces in one box.",
        )),
        landing: Some("/campaign/gift-boxes"),
        window: Some((5, 20)),
        budget: Some((2_000_000, Some(200_000), 800)),
        targeting: true,
        steps: &[
            Step::Submit,
            Step::Claim(REVIEWER_1),
            Step::Reject(
                REVIEWER_1,
                "budget",
                "A CPM bid of ¥8 is below the season's floor of ¥30.",
            ),
        ],
    },
    DemoApp {
        brand: TEA,
        season: Which::S618,
        by: YUNSHAN,
        title: "618 opening days: tea-tasting livestream",
        creative: Some((
            "Taste with our tea master, live",
            "Join the livestream on 1 June and order the teas as you taste them.",
        )),
        landing: Some("/live"),
        window: Some((12, 15)),
        budget: Some((1_000_000, None, 4_000)),
        targeting: false,
        steps: &[Step::Submit, Step::Withdraw],
    },
    DemoApp {
        brand: ORB,
        season: Which::S618,
        by: ORBIT,
        title: "618: noise-cancelling headphones",
        creative: Some((
            "Silence the commute",
            "Orbit Q3 noise-cancelling headphones: 40 hours of battery, 618 price.",
        )),
        landing: Some("/item/q3"),
        window: Some((0, 15)),
        budget: Some((10_000_000, Some(1_500_000), 5_500)),
        targeting: true,
        steps: &[],
    },
    DemoApp {
        brand: BARG,
        season: Which::S618,
        by: BARGAIN,
        title: "618 clearance: imported snacks",
        creative: Some((
            "Imported snacks, clearance prices",
            "Biscuits, chocolate and crisps from twelve countries.",
        )),
        landing: Some("/category/snacks"),
        window: Some((26, 32)),
        budget: Some((3_000_000, None, 3_000)),
        targeting: false,
        steps: &[],
    },
];

/// `[from, to]` days after the season starts, kept inside the season's run window (a
/// season of the same code that was made by hand may be shorter).
fn window(starts: DateTime<Utc>, ends: DateTime<Utc>, from: i64, to: i64) -> Window {
    let at = |days| (starts + Duration::days(days)).clamp(starts, ends);
    let (starts_at, ends_at) = (at(from), at(to));
    if starts_at < ends_at {
        Window { starts_at, ends_at }
    } else {
        Window {
            starts_at: starts,
            ends_at: ends.min(starts + Duration::days(MAX_RUN_DAYS)),
        }
    }
}

impl DemoApp {
    pub(super) fn parts(&self, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Parts {
        let b = &BRANDS[self.brand];
        let img = |f: &str| format!("https://img.demo.example/{}/{f}", b.slug);
        let (regions, age_min, age_max, genders, interests) = b.audience;
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Parts {
            creative: self.creative.map(|(headline, body)| Creative {
                headline: headline.to_owned(),
                body: body.to_owned(),
                card_label: "Tmall flagship store".to_owned(),
                logo_url: img("logo.png"),
                image_urls: (1..=3)
                    .map(|i| img(&format!("{}-{i}.jpg", b.slug)))
                    .collect(),
            }),
            landing: self.landing.map(|path| Landing {
                app_url: format!("tmall://page.tm/shop?shopId={}", b.shop_id),
                web_url: format!("{}{}", b.url.trim_end_matches('/'), path),
            }),
            requested_window: self.window.map(|(f, t)| window(starts, ends, f, t)),
            budget: self
                .budget
                .map(|(total_fen, daily_cap_fen, cpm_bid_fen)| Budget {
                    total_fen,
                    daily_cap_fen,
                    cpm_bid_fen,
                }),
            targeting: self.targeting.then(|| Targeting {
                regions: strings(regions),
                age_min,
                age_max,
                genders: strings(genders),
                interests: strings(interests),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password::NewPassword;
    use crate::domain::actor::Party;
    use crate::domain::application::{ReasonCode, Status, Title, apply};
    use crate::domain::brand::StoreUrl;
    use crate::domain::error::Errors;
    use crate::domain::season::SeasonState;
    use crate::domain::user::{DisplayName, Email};

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Shanghai
            .with_ymd_and_hms(y, m, d, h, min, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_year_is_the_first_whose_618_still_accepts() {
        assert_eq!(demo_year(at(2026, 11, 21, 12, 0, 0)), 2027);
        assert_eq!(demo_year(at(2027, 1, 1, 0, 0, 0)), 2027);
        assert_eq!(demo_year(at(2027, 6, 9, 23, 59, 59)), 2027);
        assert_eq!(demo_year(at(2027, 6, 10, 0, 0, 0)), 2028);
        assert_eq!(demo_year(at(2027, 12, 31, 23, 59, 59)), 2028);
    }

    #[test]
    fn seasons_follow_the_rules_and_618_always_accepts() {
        let mut now = at(2026, 1, 1, 0, 0, 0);
        while now < at(2030, 1, 1, 0, 0, 0) {
            let year = demo_year(now);
            let s618 = season_618(year).parse().expect("618 is valid");
            let d11 = season_double11(year).parse().expect("Double 11 is valid");
            assert_eq!(s618.state_at(now), SeasonState::Accepting, "{now}");
            assert_eq!(d11.state_at(now), SeasonState::Upcoming, "{now}");
            assert_eq!(s618.code, format!("618-{year}"));
            now += Duration::hours(37);
        }
        let s = season_618(2027);
        assert_eq!(s.starts_at, at(2027, 5, 20, 0, 0, 0));
        assert_eq!(s.phases[1].starts_at, at(2027, 6, 1, 0, 0, 0));
        assert_eq!(s.phases[2].starts_at, at(2027, 6, 15, 0, 0, 0));
        let d = season_double11(2027);
        assert_eq!(d.phases[1].starts_at, at(2027, 10, 31, 0, 0, 0));
        assert_eq!(d.phases[2].ends_at, at(2027, 11, 12, 0, 0, 0));
    }

    #[test]
    fn every_application_is_valid_and_fits_its_season() {
        for a in &APPLICATIONS {
            let s = match a.season {
                Which::S618 => season_618(2027),
                Which::Double11 => season_double11(2027),
            };
            let parts = a.parts(s.starts_at, s.ends_at);
            let mut errs = Errors::new();
            errs.take(Title::parse(a.title));
            parts.check(&mut errs);
            assert!(errs.is_empty(), "{}: {errs:?}", a.title);
            if a.steps.is_empty() && a.season == Which::Double11 {
                assert!(parts.complete().is_err(), "an incomplete draft");
                continue;
            }
            assert!(parts.complete().is_ok(), "{}", a.title);
            let w = parts.requested_window.unwrap();
            assert!(
                w.within(s.starts_at, s.ends_at) && !w.too_long(),
                "{}",
                a.title
            );
            assert!(BRANDS[a.brand].owner == a.by || BRANDS[a.brand].agency);
        }
    }

    #[test]
    fn windows_stay_inside_a_shorter_season() {
        let s = at(2027, 5, 20, 0, 0, 0);
        let e = s + Duration::days(10);
        let w = window(s, e, 5, 20);
        assert_eq!((w.starts_at, w.ends_at), (s + Duration::days(5), e));
        let w = window(s, e, 12, 15);
        assert_eq!((w.starts_at, w.ends_at), (s, e));
    }

    #[test]
    fn the_plan_reaches_every_status() {
        let mut reached = Vec::new();
        for a in &APPLICATIONS {
            let mut status = Status::Draft;
            for step in a.steps {
                if let Step::Reject(_, code, _) | Step::RequestChanges(_, code, _) = step {
                    assert!(ReasonCode::parse(code).is_some());
                }
                let Some((action, reviewer)) = step.action() else {
                    continue;
                };
                let party = if reviewer.is_some() {
                    Party::Staff
                } else {
                    Party::Member
                };
                status = apply(status, action, party).expect("an allowed step");
            }
            reached.push(status);
        }
        for s in Status::ALL {
            assert!(reached.contains(&s), "no demo application is {s:?}");
        }
    }

    #[test]
    fn logins_are_valid_accounts() {
        // The demo password is published, so the policy rightly refuses it: the demo
        // seed hashes it without the policy (`NewPassword::published_demo`).
        assert!(NewPassword::parse("password", PASSWORD).is_err());
        assert_eq!(LOGINS[0].role, Role::Admin, "the admin is made first");
        for l in &LOGINS {
            assert!(Email::parse("email", l.email).is_ok());
            assert!(DisplayName::parse("display_name", l.name).is_ok());
        }
        for b in &BRANDS {
            assert!(StoreUrl::parse(b.url).is_ok_and(|u| u.as_str() == b.url));
            assert!(LOGINS.iter().any(|l| l.email == b.owner));
        }
    }
}
