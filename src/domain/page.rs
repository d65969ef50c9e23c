//! Cursor pagination shared by every list: `limit` (1–200, default 50) and an opaque
//! `cursor`. Lists are ordered by a (time, id) key, so paging has no gaps or duplicates
//! while rows are added.

use super::error::{Code, FieldError, Rejection};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Where the previous page ended: the sort key of its last item.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Cursor {
    /// The time component of the sort key.
    pub t: DateTime<Utc>,
    pub id: Uuid,
    /// An extra leading sort key (the review queue sorts appeals first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<bool>,
    /// The position of the last item, in a fixed list kept in memory (`List::from_slice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
}

impl Cursor {
    pub fn new(t: DateTime<Utc>, id: Uuid) -> Self {
        Self {
            t,
            id,
            k: None,
            n: None,
        }
    }

    fn position(n: usize) -> Self {
        Self {
            n: Some(n),
            ..Self::new(DateTime::UNIX_EPOCH, Uuid::nil())
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The cursor a page gave out; `None` for anything else (a time outside the sane
    /// range is not one we give out).
    pub fn decode(s: &str) -> Option<Self> {
        if s.len() > 512 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let c: Self = serde_json::from_slice(&bytes).ok()?;
        (super::time::is_sane(c.t) || c.n.is_some()).then_some(c)
    }
}

/// The page a list request asks for.
#[derive(Debug, Clone, Copy)]
pub struct PageParams {
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl PageParams {
    /// How many rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    pub fn parse(query: &str) -> Result<Self, Rejection> {
        let mut limit = DEFAULT_LIMIT;
        let mut after = None;
        let mut errors = Vec::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "limit" => match v.parse::<i64>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                    _ => errors.push(FieldError::new(
                        "limit",
                        Code::OutOfRange,
                        format!("limit is a whole number from 1 to {MAX_LIMIT}."),
                    )),
                },
                "cursor" => match Cursor::decode(&v) {
                    Some(c) => after = Some(c),
                    None => errors.push(FieldError::new(
                        "cursor",
                        Code::InvalidCursor,
                        "Use the next_cursor of a previous page, unchanged.",
                    )),
                },
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(Self { limit, after })
        } else {
            Err(Rejection::invalid(errors))
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// Builds the page from `rows` fetched with `page.fetch()`; `key` gives an item's cursor.
    pub fn from_rows(mut rows: Vec<T>, page: &PageParams, key: impl Fn(&T) -> Cursor) -> Self {
        let next = cut_page(&mut rows, page, key);
        Self {
            items: rows,
            next_cursor: next.map(|c| c.encode()),
        }
    }

    /// A page of a fixed, ordered list kept in memory (the reason codes); its cursor
    /// names the position of the page's last item. A cursor of another list is refused.
    pub fn from_slice<S>(
        all: &[S],
        page: &PageParams,
        item: impl Fn(&S) -> T,
    ) -> Result<Self, Rejection> {
        let start = match page.after {
            None => 0,
            Some(Cursor { n: Some(n), .. }) => n.saturating_add(1),
            Some(_) => {
                return Err(Rejection::invalid(vec![FieldError::new(
                    "cursor",
                    Code::InvalidCursor,
                    "Use the next_cursor of a previous page of this list, unchanged.",
                )]));
            }
        };
        let mut rows: Vec<(usize, &S)> = all
            .iter()
            .enumerate()
            .skip(start)
            .take(page.fetch() as usize)
            .collect();
        let next = cut_page(&mut rows, page, |(i, _)| Cursor::position(*i));
        Ok(Self {
            items: rows.into_iter().map(|(_, s)| item(s)).collect(),
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// The same page with each item turned into what the API shows.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> List<U> {
        List {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Cuts `rows`, fetched with `page.fetch()`, to the page; the cursor of the next page
/// when one follows.
pub fn cut_page<T>(
    rows: &mut Vec<T>,
    page: &PageParams,
    key: impl Fn(&T) -> Cursor,
) -> Option<Cursor> {
    let more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    if more { rows.last().map(key) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        assert_eq!(PageParams::parse("").unwrap().limit, 50);
        assert_eq!(PageParams::parse("limit=200").unwrap().limit, 200);
        let far = URL_SAFE_NO_PAD.encode(
            br#"{"t":"-100000-01-01T00:00:00Z","id":"00000000-0000-0000-0000-000000000000"}"#,
        );
        let far = format!("cursor={far}");
        for bad in [
            "limit=0",
            "limit=201",
            "limit=x",
            "cursor=zzz",
            "limit=-1",
            &far,
        ] {
            assert!(PageParams::parse(bad).is_err(), "{bad}");
        }
        let c = Cursor::new(Utc::now(), Uuid::new_v4());
        let p = PageParams::parse(&format!("cursor={}", c.encode())).unwrap();
        assert_eq!(p.after, Some(c));
    }

    #[test]
    fn fixed_lists_page_by_position() {
        let all: Vec<u32> = (0..5).collect();
        let mut page = PageParams {
            limit: 2,
            after: None,
        };
        let mut seen = Vec::new();
        loop {
            let l = List::from_slice(&all, &page, |x| *x).unwrap();
            seen.extend(l.items);
            match l.next_cursor {
                Some(c) => page.after = Cursor::decode(&c),
                None => break,
            }
        }
        assert_eq!(seen, all);
        page.after = Some(Cursor::new(Utc::now(), Uuid::new_v4()));
        assert!(List::from_slice(&all, &page, |x| *x).is_err());
    }

    #[test]
    fn next_cursor_only_when_more() {
        let page = PageParams {
            limit: 2,
            after: None,
        };
        let now = Utc::now();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let l = List::from_rows(ids.clone(), &page, |id| Cursor::new(now, *id));
        assert_eq!(l.items.len(), 2);
        assert_eq!(
            Cursor::decode(l.next_cursor.as_deref().unwrap())
                .unwrap()
                .id,
            ids[1]
        );
        let l = List::from_rows(ids[..2].to_vec(), &page, |id| Cursor::new(now, *id));
        assert!(l.next_cursor.is_none());
    }
}
