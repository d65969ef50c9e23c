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

use crate::api::page::{Cursor, PageParams};
use sqlx::QueryBuilder;

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

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Appends the brand filter of SPEC §7: staff see every brand, a marketer only the
/// brands they are a member of. `column` holds the brand id.
pub fn push_brand_visibility(
    qb: &mut QueryBuilder<sqlx::Postgres>,
    caller: &crate::auth::UserCaller,
    column: &str,
) {
    if !caller.is_staff() {
        qb.push(format_args!(
            " AND {column} IN (SELECT brand_id FROM brand_members WHERE user_id = "
        ))
        .push_bind(caller.id)
        .push(")");
    }
}
