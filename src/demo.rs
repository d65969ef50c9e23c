//! Demo data: `moments-gate seed-demo`, and `serve` once when it runs its own local
//! PostgreSQL.
//!
//! The 618 and Double 11 seasons of the coming year (Asia/Shanghai), five brands, users of
//! every role and applications in every status of SPEC §3, with the whitelist entries,
//! campaigns and audit events the API would have written for them. It takes the same
//! steps as the API — `SeasonSpec::validate`, the domain parsers, and the steps the
//! handlers take inside their transactions (`api::accounts::insert_user`,
//! `api::seasons::insert_season`, `api::brands::{insert_brand, set_verification,
//! add_member_by_email}`, `api::applications::create_draft` and the lifecycle steps,
//! `api::whitelist::change_status`) — and does it all in one transaction.
//!
//! Running it again changes nothing. Each demo object is looked up by its natural key
//! first and left as it is when found:
//! - a user by email (any case); a demo email held by an account of another role stops
//!   the run with nothing written;
//! - a season by code;
//! - a brand by store URL *and* its demo owner, so a brand someone else registered with
//!   the same URL is never touched; its members and verification come with a new brand;
//! - an application by (brand, season, title), whatever its status is now.
//!
//! Nothing is ever updated or deleted. Concurrent runs queue on an advisory lock.

use crate::api::applications as flow;
use crate::api::whitelist as whitelist_flow;
use crate::api::{accounts, brands as brand_flow, seasons as season_flow};
use crate::auth::UserCaller;
use crate::auth::password::{Hasher, NewPassword};
use crate::domain::application::{
    self as rules, Action, Budget, Creative, Landing, MAX_RUN_DAYS, Parts, Targeting, Window,
};
use crate::domain::brand::{
    self, BrandKind, BrandName, MemberRole, StoreUrl, Verification, VerificationDecision,
};
use crate::domain::season::{DEFAULT_TIMEZONE, Phase, SeasonSpec};
use crate::domain::user::{DisplayName, Email, Role};
use crate::domain::whitelist::{Reason, WhitelistAction};
use crate::error::ApiError;
use crate::store::applications::{self as apps, Change, Row};
use crate::store::audit::Actor;
use crate::store::brands as brand_store;
use crate::store::seasons::{self, Season};
use crate::store::users::{self, User};
use crate::store::whitelist;
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

/// The password of every demo account (published: these accounts are for trying it out).
pub const PASSWORD: &str = "moments-gate-demo";

/// A demo account, as printed for people to log in with.
pub struct Login {
    pub email: &'static str,
    pub role: Role,
    pub name: &'static str,
    pub about: &'static str,
}

const ADMIN: &str = "admin@demo.example";
const REVIEWER_1: &str = "reviewer1@demo.example";
const REVIEWER_2: &str = "reviewer2@demo.example";
const JADE_PEAK: &str = "jadepeak@demo.example";
const LUMIERE: &str = "lumiere@demo.example";
const YUNSHAN: &str = "yunshan@demo.example";
const ORBIT: &str = "orbit@demo.example";
const BARGAIN: &str = "bargain@demo.example";
const AGENCY: &str = "agency@demo.example";

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

struct DemoBrand {
    name: &'static str,
    slug: &'static str,
    kind: BrandKind,
    url: &'static str,
    shop_id: u32,
    owner: &'static str,
    /// The reviewer who verified it, and their note; `None`: still pending.
    verified_by: Option<(&'static str, &'static str)>,
    /// The agency is a member too.
    agency: bool,
    /// regions, age_min, age_max, genders, interests
    audience: (
        &'static [&'static str],
        i32,
        i32,
        &'static [&'static str],
        &'static [&'static str],
    ),
}

const BRANDS: [DemoBrand; 5] = [
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
enum Which {
    S618,
    Double11,
}

/// What happens to an application after its creator makes the draft. Member steps are
/// taken by the creator; the others name the reviewer.
#[derive(Debug, Clone, Copy)]
enum Step {
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

struct DemoApp {
    brand: usize,
    season: Which,
    by: &'static str,
    title: &'static str,
    /// headline, body; `None`: not written yet (a draft)
    creative: Option<(&'static str, &'static str)>,
    /// the page of the brand's store the ad opens
    landing: Option<&'static str>,
    /// days after the season starts: from, to
    window: Option<(i64, i64)>,
    /// total, daily cap, CPM bid, all in fen
    budget: Option<(i64, Option<i64>, i64)>,
    targeting: bool,
    steps: &'static [Step],
}

const JADE: usize = 0;
const LUMI: usize = 1;
const TEA: usize = 2;
const ORB: usize = 3;
const BARG: usize = 4;

/// Every status of SPEC §3; windows are days after 20 May (618) or 20 October (Double 11).
const APPLICATIONS: [DemoApp; 12] = [
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
    fn parts(&self, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Parts {
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

// ---- loading ----

/// What a run created, one line per object.
#[derive(Debug, Default)]
pub struct Report {
    pub created: Vec<String>,
}

impl Report {
    pub fn print(&self) {
        if self.created.is_empty() {
            println!("demo data: everything was there already; nothing changed");
        } else {
            println!("demo data: created {} objects", self.created.len());
            for line in &self.created {
                println!("  + {line}");
            }
        }
    }
}

/// Prints the demo logins of `present` (emails of demo accounts that exist).
pub fn print_logins(present: &[&str]) {
    if present.is_empty() {
        println!("  demo data: none here; `moments-gate seed-demo` loads it");
        return;
    }
    println!("  demo logins (password for each: {PASSWORD}):");
    for l in LOGINS.iter().filter(|l| present.contains(&l.email)) {
        println!("    {:<24} {:<9} {}", l.email, l.role.as_str(), l.about);
    }
}

/// The demo accounts that exist with their demo role.
pub async fn present_logins(pool: &PgPool) -> sqlx::Result<Vec<&'static str>> {
    let emails: Vec<&str> = LOGINS.iter().map(|l| l.email).collect();
    let found = users::roles_by_email(pool, &emails).await?;
    Ok(LOGINS
        .iter()
        .filter(|l| {
            found
                .iter()
                .any(|(e, r)| e == l.email && r == l.role.as_str())
        })
        .map(|l| l.email)
        .collect())
}

/// Loads whatever of the demo data is missing, in one transaction (`seed-demo`).
pub async fn seed(pool: &PgPool, hasher: &Hasher, now: DateTime<Utc>) -> anyhow::Result<Report> {
    let mut tx = pool.begin().await?;
    let report = seed_in(&mut tx, hasher, now).await?;
    tx.commit().await?;
    Ok(report)
}

/// Loads the demo data unless this database has had it loaded before; `None` when it
/// had. For `serve` on its own local PostgreSQL: the table `demo_seed` remembers it, in
/// the same transaction as the data.
pub async fn load_once(
    pool: &PgPool,
    hasher: &Hasher,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Report>> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let first = sqlx::query("INSERT INTO demo_seed DEFAULT VALUES ON CONFLICT DO NOTHING")
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !first {
        return Ok(None);
    }
    let report = seed_in(&mut tx, hasher, now).await?;
    tx.commit().await?;
    Ok(Some(report))
}

/// Held until the transaction ends, so two runs at once load one after the other.
async fn lock(conn: &mut PgConnection) -> sqlx::Result<()> {
    const KEY: i64 = 0x006d_675f_6465_6d6f; // "mg_demo" in ASCII
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(KEY)
        .execute(conn)
        .await?;
    Ok(())
}

/// An API error with the fields it names, for a message that says what was refused.
fn refused(e: ApiError) -> anyhow::Error {
    let fields: Vec<String> = e
        .field_errors()
        .iter()
        .map(|f| format!("{} ({})", f.field, f.code))
        .collect();
    if fields.is_empty() {
        anyhow!("{e}")
    } else {
        anyhow!("{e}: {}", fields.join(", "))
    }
}

type People = HashMap<&'static str, UserCaller>;

async fn seed_in(
    conn: &mut PgConnection,
    hasher: &Hasher,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    lock(conn).await?;
    let mut report = Report::default();
    let people = ensure_users(conn, hasher, &mut report).await?;
    let year = demo_year(now);
    let admin = &people[ADMIN];
    let s618 = ensure_season(conn, season_618(year), admin, &mut report).await?;
    let d11 = ensure_season(conn, season_double11(year), admin, &mut report).await?;
    let mut brand_ids = Vec::with_capacity(BRANDS.len());
    for b in &BRANDS {
        brand_ids.push(ensure_brand(conn, b, &people, &mut report).await?);
    }
    for a in &APPLICATIONS {
        let season = match a.season {
            Which::S618 => &s618,
            Which::Double11 => &d11,
        };
        ensure_application(conn, a, brand_ids[a.brand], season, &people, &mut report)
            .await
            .with_context(|| format!("demo application {:?}", a.title))?;
    }
    Ok(report)
}

async fn ensure_users(
    conn: &mut PgConnection,
    hasher: &Hasher,
    report: &mut Report,
) -> anyhow::Result<People> {
    let mut people = People::new();
    // One hash serves every new demo account: they share a published password, so a
    // salt of their own would hide nothing, and each hash costs ~50 ms of CPU.
    let mut hash: Option<String> = None;
    for l in &LOGINS {
        let id = match users::by_email(&mut *conn, l.email).await? {
            Some((User { id, role, .. }, _)) if role == l.role.as_str() => id,
            Some((User { email, role, .. }, _)) => bail!(
                "{email} belongs to an account that is a {role}, not a {}: the demo data was \
                 not loaded (nothing changed)",
                l.role
            ),
            None => {
                let hash = match &hash {
                    Some(h) => h.clone(),
                    None => {
                        let pw = NewPassword::parse("password", PASSWORD).map_err(refused)?;
                        let h = hasher.hash(&pw).await.map_err(refused)?;
                        hash.insert(h).clone()
                    }
                };
                let email = Email::parse("email", l.email).map_err(|e| anyhow!(e.message))?;
                let name =
                    DisplayName::parse("display_name", l.name).map_err(|e| anyhow!(e.message))?;
                // As the API does: the first admin comes from the command line, staff are
                // made by an admin, marketers sign up themselves.
                let actor = match l.role {
                    Role::Admin => Some(Actor::SYSTEM),
                    Role::Reviewer => Some(Actor::from(&people[ADMIN])),
                    Role::Marketer => None,
                };
                let user = accounts::insert_user(conn, actor, &email, &name, l.role, &hash)
                    .await
                    .map_err(refused)?;
                report
                    .created
                    .push(format!("user {} ({})", user.email, l.role));
                user.id
            }
        };
        people.insert(
            l.email,
            UserCaller {
                id,
                role: l.role,
                session_id: Uuid::nil(),
            },
        );
    }
    Ok(people)
}

async fn ensure_season(
    conn: &mut PgConnection,
    spec: SeasonSpec,
    admin: &UserCaller,
    report: &mut Report,
) -> anyhow::Result<Season> {
    if let Some(s) = seasons::by_code(conn, &spec.code).await? {
        return Ok(s);
    }
    let code = spec.code.clone();
    let spec = spec
        .validate()
        .map_err(|errs| anyhow!("the demo season {code} breaks a rule: {errs:?}"))?;
    let season = season_flow::insert_season(conn, admin, &spec)
        .await
        .map_err(refused)?;
    report.created.push(format!(
        "season {} \"{}\" ({})",
        season.code,
        season.name,
        season.state.as_str()
    ));
    Ok(season)
}

async fn ensure_brand(
    conn: &mut PgConnection,
    b: &DemoBrand,
    people: &People,
    report: &mut Report,
) -> anyhow::Result<Uuid> {
    let owner = &people[b.owner];
    let url = StoreUrl::parse(b.url).map_err(|e| anyhow!(e.message))?;
    if let Some(id) = brand_store::id_by_url_and_creator(conn, &url, owner.id).await? {
        return Ok(id);
    }
    let name = BrandName::parse(b.name).map_err(|e| anyhow!(e.message))?;
    let created = brand_flow::insert_brand(conn, owner, &name, b.kind, &url)
        .await
        .map_err(refused)?;
    let mut standing = Verification::Pending;
    if let Some((reviewer, note)) = b.verified_by {
        let reviewer = &people[reviewer];
        let note = brand::decision_note(VerificationDecision::Verified, Some(note))
            .map_err(|e| anyhow!(e.message))?;
        standing = Verification::Verified;
        brand_flow::set_verification(conn, reviewer, created.id, standing, note.as_deref())
            .await
            .map_err(refused)?;
    }
    if b.agency {
        brand_flow::add_member_by_email(conn, owner, created.id, AGENCY, MemberRole::Member)
            .await
            .map_err(refused)?;
    }
    report.created.push(format!(
        "brand {} ({}, {}, {})",
        created.name,
        b.kind.as_str(),
        standing.as_str(),
        created.tmall_store_url
    ));
    Ok(created.id)
}

async fn ensure_application(
    conn: &mut PgConnection,
    a: &DemoApp,
    brand_id: Uuid,
    season: &Season,
    people: &People,
    report: &mut Report,
) -> anyhow::Result<()> {
    if apps::id_by_title(conn, brand_id, season.id, a.title)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let member = &people[a.by];
    let parts = a.parts(season.starts_at, season.ends_at);
    let row = flow::create_draft(conn, member, brand_id, season.id, a.title, &parts)
        .await
        .map_err(refused)?;
    let mut status = row.status;
    for step in a.steps {
        status = take(conn, row.id, member, people, *step).await?.status;
    }
    report.created.push(format!(
        "application \"{}\" of {} in {} ({status})",
        a.title, BRANDS[a.brand].name, season.code
    ));
    Ok(())
}

/// One step of the lifecycle, the way its endpoint takes it; returns the row after it.
async fn take(
    conn: &mut PgConnection,
    id: Uuid,
    member: &UserCaller,
    people: &People,
    step: Step,
) -> anyhow::Result<Row> {
    if let Step::Suspend(r, reason) = step {
        return suspend(conn, id, &people[r], reason).await;
    }
    let Some((action, reviewer)) = step.action() else {
        unreachable!("only a suspension has no action")
    };
    let caller = reviewer.map_or(member, |r| &people[r]);
    let (row, to) = flow::lock_for(conn, caller, id, action)
        .await
        .map_err(refused)?;
    let (change, note): (Change, Option<&str>) = match step {
        Step::Submit => (
            flow::submit_change(conn, &row).await.map_err(refused)?,
            None,
        ),
        Step::Withdraw => (Change::default(), None),
        Step::Appeal => (flow::appeal_change(&row).map_err(refused)?, None),
        Step::Claim(_) => (flow::claim_change(&row, caller).map_err(refused)?, None),
        Step::Approve(_) => {
            let change = flow::decision_change(&row, caller, action, None, None);
            let done = flow::approve(conn, caller, &row, to, change.map_err(refused)?, None)
                .await
                .map_err(refused)?;
            return apps::get_for_update(conn, done.application.id)
                .await?
                .context("the approved application");
        }
        Step::Reject(_, code, note) | Step::RequestChanges(_, code, note) => {
            if !rules::is_reason_code(code) || note.trim().is_empty() {
                bail!("a decision needs a reason code and a note");
            }
            let change = flow::decision_change(&row, caller, action, Some(code.into()), Some(note));
            (change.map_err(refused)?, Some(note))
        }
        Step::Suspend(..) => unreachable!("handled above"),
    };
    flow::move_to(conn, caller, &row, action, to, change, note)
        .await
        .map_err(refused)
}

/// What POST /whitelist/{id}/suspend does, for the brand's entry of the season.
async fn suspend(
    conn: &mut PgConnection,
    application_id: Uuid,
    reviewer: &UserCaller,
    reason: &str,
) -> anyhow::Result<Row> {
    let row = apps::get_for_update(conn, application_id)
        .await?
        .context("the application")?;
    let entry = whitelist::open_for_update(conn, row.brand_id, row.season_id)
        .await?
        .context("the brand has no whitelist entry for the season")?;
    let reason = Reason::parse(reason).map_err(|e| anyhow!(e.message))?;
    whitelist_flow::change_status(conn, reviewer, &entry, WhitelistAction::Suspend, &reason)
        .await
        .map_err(refused)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::{Party, Status, apply};
    use crate::domain::season::SeasonState;

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
            let s618 = season_618(year).validate().expect("618 is valid");
            let d11 = season_double11(year)
                .validate()
                .expect("Double 11 is valid");
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
            let mut errs = Vec::new();
            rules::check_title(&mut errs, a.title);
            parts.check(&mut errs);
            assert!(errs.is_empty(), "{}: {errs:?}", a.title);
            if a.steps.is_empty() && a.season == Which::Double11 {
                assert!(!parts.completeness().is_empty(), "an incomplete draft");
                continue;
            }
            assert!(parts.completeness().is_empty(), "{}", a.title);
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
                    assert!(rules::is_reason_code(code));
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
        assert!(NewPassword::parse("password", PASSWORD).is_ok());
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
