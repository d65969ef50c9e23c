//! Demo data: `moments-gate seed-demo`, and `serve` once when it runs its own local
//! PostgreSQL.
//!
//! The 618 and Double 11 seasons of the coming year (Asia/Shanghai), five brands, users of
//! every role and applications in every status of SPEC §3, with the whitelist entries,
//! campaigns and audit events the API would have written for them. It takes the same
//! steps as the API: the domain parsers and the same `crate::flow` use cases the handlers
//! call, all inside one transaction. What it loads is in `data`.
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

mod data;

pub use data::{LOGINS, Login, PASSWORD, demo_year, season_618, season_double11};

use crate::auth::password::{Hasher, NewPassword};
use crate::domain::actor::Actor;
use crate::domain::application::{Decision, DecisionKind, Parts};
use crate::domain::brand::{BrandName, MemberRole, StoreUrl, Verification, VerificationDecision};
use crate::domain::season::SeasonSpec;
use crate::domain::user::{DisplayName, Email, Role};
use crate::domain::whitelist::WhitelistAction;
use crate::flow::{self, accounts::Creator, applications::NewDraft};
use crate::store::applications::{self as apps, Application};
use crate::store::brands as brand_store;
use crate::store::seasons::{self, Season};
use crate::store::users::{self, User};
use crate::store::whitelist;
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use data::{ADMIN, AGENCY, APPLICATIONS, BRANDS, DemoApp, DemoBrand, Step, Which};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

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

/// A refusal with the fields it names, for a message that says what was refused.
fn refused(e: flow::Error) -> anyhow::Error {
    match e {
        flow::Error::Rejected(r) if !r.errors.is_empty() => {
            let fields: Vec<String> = r
                .errors
                .iter()
                .map(|f| format!("{} ({})", f.field, f.code))
                .collect();
            anyhow!("{r}: {}", fields.join(", "))
        }
        e => anyhow!("{e}"),
    }
}

type People = HashMap<&'static str, Actor>;

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
            Some((User { id, role, .. }, _)) if role == l.role => id,
            Some((User { email, role, .. }, _)) => bail!(
                "{email} belongs to an account that is a {role}, not a {}: the demo data was \
                 not loaded (nothing changed)",
                l.role
            ),
            None => {
                let hash = match &hash {
                    Some(h) => h.clone(),
                    None => {
                        let pw = NewPassword::published_demo(PASSWORD);
                        let h = hasher.hash(&pw).await.map_err(|e| anyhow!("{e}"))?;
                        hash.insert(h).clone()
                    }
                };
                let email = Email::parse("email", l.email).map_err(|e| anyhow!(e.message))?;
                let name =
                    DisplayName::parse("display_name", l.name).map_err(|e| anyhow!(e.message))?;
                // As the API does: the first admin comes from the command line, staff are
                // made by an admin, marketers sign up themselves.
                let creator = match l.role {
                    Role::Admin => Creator::System,
                    Role::Reviewer => Creator::Admin(&people[ADMIN]),
                    Role::Marketer => Creator::Themselves,
                };
                let user = flow::accounts::create_user(conn, creator, &email, &name, l.role, &hash)
                    .await
                    .map_err(refused)?;
                report
                    .created
                    .push(format!("user {} ({})", user.email, l.role));
                user.id
            }
        };
        people.insert(l.email, Actor { id, role: l.role });
    }
    Ok(people)
}

async fn ensure_season(
    conn: &mut PgConnection,
    spec: SeasonSpec,
    admin: &Actor,
    report: &mut Report,
) -> anyhow::Result<Season> {
    if let Some(s) = seasons::by_code(conn, &spec.code).await? {
        return Ok(s);
    }
    let code = spec.code.clone();
    let season = flow::seasons::create(conn, admin, spec)
        .await
        .map_err(refused)
        .with_context(|| format!("the demo season {code}"))?;
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
    let created = flow::brands::create(conn, owner, &name, b.kind, &url)
        .await
        .map_err(refused)?;
    let mut standing = Verification::Pending;
    if let Some((reviewer, note)) = b.verified_by {
        let decision = VerificationDecision::Verified;
        standing = flow::brands::verify(conn, &people[reviewer], created.id, decision, Some(note))
            .await
            .map_err(refused)?
            .verification;
    }
    if b.agency {
        flow::brands::add_member(conn, owner, created.id, AGENCY, MemberRole::Member)
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
    let parts: Parts = a.parts(season.starts_at, season.ends_at);
    let draft = NewDraft {
        brand_id,
        season_id: season.id,
        title: a.title,
        parts,
    };
    let app = flow::applications::create_draft(conn, member, draft)
        .await
        .map_err(refused)?;
    let mut status = app.status;
    for step in a.steps {
        status = take(conn, app.id, member, people, *step).await?.status;
    }
    report.created.push(format!(
        "application \"{}\" of {} in {} ({})",
        a.title,
        BRANDS[a.brand].name,
        season.code,
        status.as_str()
    ));
    Ok(())
}

/// One step of the plan, taken by the flow its endpoint calls; the application after it.
async fn take(
    conn: &mut PgConnection,
    id: Uuid,
    member: &Actor,
    people: &People,
    step: Step,
) -> anyhow::Result<Application> {
    use flow::applications as apps_flow;
    let decide = |r: &'static str, kind, reason: Option<&str>, note: Option<&str>| {
        let d = Decision::parse(kind, reason, note).map_err(|e| anyhow!("{e}"))?;
        anyhow::Ok((&people[r], d))
    };
    let app = match step {
        Step::Submit => apps_flow::submit(conn, member, id).await,
        Step::Withdraw => apps_flow::withdraw(conn, member, id).await,
        Step::Appeal => apps_flow::appeal(conn, member, id).await,
        Step::Claim(r) => apps_flow::claim(conn, &people[r], id).await,
        Step::Approve(r) => {
            let (reviewer, d) = decide(r, DecisionKind::Approve, None, None)?;
            apps_flow::decide(conn, reviewer, id, d).await.map(|_| ())?;
            return apps::get_for_update(conn, id)
                .await?
                .context("the approved application");
        }
        Step::Reject(r, code, note) => {
            let (reviewer, d) = decide(r, DecisionKind::Reject, Some(code), Some(note))?;
            decided(apps_flow::decide(conn, reviewer, id, d).await)
        }
        Step::RequestChanges(r, code, note) => {
            let (reviewer, d) = decide(r, DecisionKind::RequestChanges, Some(code), Some(note))?;
            decided(apps_flow::decide(conn, reviewer, id, d).await)
        }
        Step::Suspend(r, reason) => return suspend(conn, id, &people[r], reason).await,
    };
    app.map_err(refused)
}

fn decided(d: flow::Result<flow::applications::Decided>) -> flow::Result<Application> {
    d.map(|d| match d {
        flow::applications::Decided::Application(a) => *a,
        flow::applications::Decided::Approved(a) => a.application,
    })
}

/// What POST /whitelist/{id}/suspend does, for the brand's entry of the season.
async fn suspend(
    conn: &mut PgConnection,
    application_id: Uuid,
    reviewer: &Actor,
    reason: &str,
) -> anyhow::Result<Application> {
    let app = apps::get_for_update(conn, application_id)
        .await?
        .context("the application")?;
    let entry = whitelist::open_for_update(conn, app.brand_id, app.season_id)
        .await?
        .context("the brand has no whitelist entry for the season")?;
    flow::whitelist::change_status(conn, reviewer, entry.id, WhitelistAction::Suspend, reason)
        .await
        .map_err(refused)?;
    Ok(app)
}
