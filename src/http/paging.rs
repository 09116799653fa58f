//! Cursor pagination shared by every list: limits, opaque cursors, the next cursor.

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

pub fn page_limit(limit: Option<i64>) -> ApiResult<i64> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// A cursor is the id of the last row of the previous page.
pub fn parse_cursor(cursor: Option<&str>) -> ApiResult<Option<i64>> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::validation("cursor", "not a cursor returned by this API"))
        })
        .transpose()
}

/// The cursor of the next page: present only when this page was full.
pub fn next_cursor<T>(rows: &[T], limit: i64, id: impl Fn(&T) -> i64) -> Option<String> {
    (rows.len() as i64 == limit)
        .then(|| rows.last().map(|row| id(row).to_string()))
        .flatten()
}
