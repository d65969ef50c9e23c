//! SQL, one module per aggregate.

pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod brands;
pub mod campaigns;
pub mod dashboard;
pub mod seasons;
pub mod users;
pub mod whitelist;

use crate::domain::actor::Actor;
use crate::domain::page::{Cursor, List, PageParams};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgExecutor, QueryBuilder};
use uuid::Uuid;

/// Appends `AND (t, id) < cursor ORDER BY t DESC, id DESC LIMIT n+1`: newest first.
pub fn push_keyset(qb: &mut QueryBuilder<sqlx::Postgres>, t: &str, id: &str, page: &PageParams) {
    if let Some(Cursor { t: ct, id: cid, .. }) = page.after {
        qb.push(format_args!(" AND ({t}, {id}) < ("))
            .push_bind(ct)
            .push(", ")
            .push_bind(cid)
            .push(")");
    }
    qb.push(format_args!(" ORDER BY {t} DESC, {id} DESC LIMIT "))
        .push_bind(page.fetch());
}

/// One page of a list, newest first: appends the keyset on `(t, id)` to `qb` (see
/// `push_keyset`), fetches and builds the page. `key` reads the same `(t, id)` from a
/// row, for the next cursor, so the order and the cursor are written side by side.
pub async fn fetch_page<'c, T>(
    mut qb: QueryBuilder<sqlx::Postgres>,
    conn: impl PgExecutor<'c>,
    (t, id): (&str, &str),
    page: &PageParams,
    key: impl Fn(&T) -> Cursor,
) -> sqlx::Result<List<T>>
where
    T: Send + Unpin + for<'r> FromRow<'r, PgRow>,
{
    push_keyset(&mut qb, t, id, page);
    let rows = qb.build_query_as().fetch_all(conn).await?;
    Ok(List::from_rows(rows, page, key))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Whose brands a caller may see (SPEC §7): staff see every brand, a marketer only the
/// brands they are a member of. Every read of a brand's data is filtered with it in SQL.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    All,
    MemberOf(Uuid),
}

impl From<&Actor> for Scope {
    fn from(c: &Actor) -> Self {
        if c.is_staff() {
            Scope::All
        } else {
            Scope::MemberOf(c.id)
        }
    }
}

impl Scope {
    /// Appends ` AND <brand_col> IN (brands of the member)` when the scope is limited.
    pub fn push(&self, qb: &mut QueryBuilder<sqlx::Postgres>, brand_col: &str) {
        if let Scope::MemberOf(user) = *self {
            qb.push(format_args!(
                " AND {brand_col} IN (SELECT brand_id FROM brand_members WHERE user_id = "
            ))
            .push_bind(user)
            .push(")");
        }
    }
}
