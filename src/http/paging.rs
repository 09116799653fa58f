//! Cursor pagination shared by every list: limits, opaque cursors, the next cursor.

use crate::error::{ServiceError, ServiceResult};

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

pub fn page_limit(limit: Option<i64>) -> ServiceResult<i64> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ServiceError::validation(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// What a cursor looks like in the contract: the id of the last row of the previous page.
pub const CURSOR_PATTERN: &str = "^[1-9][0-9]{0,18}$";

/// A cursor is the id of the last row of the previous page, written as this API writes it (no
/// sign, no leading zeros, no spaces).
pub fn parse_cursor(cursor: Option<&str>) -> ServiceResult<Option<i64>> {
    cursor
        .map(|c| {
            let canonical = !c.starts_with('0') && c.bytes().all(|b| b.is_ascii_digit());
            canonical
                .then(|| c.parse::<i64>().ok())
                .flatten()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    ServiceError::validation("cursor", "not a cursor returned by this API")
                })
        })
        .transpose()
}

/// The cursor of the next page: present only when this page was full.
pub fn next_cursor<T>(rows: &[T], limit: i64, id: impl Fn(&T) -> i64) -> Option<String> {
    (rows.len() as i64 == limit)
        .then(|| rows.last().map(|row| id(row).to_string()))
        .flatten()
}
