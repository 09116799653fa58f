//! Idempotency keys, stored in the same transaction as the effect they guard, so a retry after a
//! crash, a restart or on another instance sees exactly what the first attempt committed.

use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::schema::idempotency_keys;
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};

/// Whether a result was produced now or replayed from an earlier request with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Fresh,
    Replayed,
}

/// Whose keys these are: one caller's keys in one bank. Another caller sending the same key is
/// another request, never a replay of this caller's result.
#[derive(Debug, Clone, Copy)]
pub struct KeyScope<'a> {
    pub bank_id: i64,
    /// `staff:<id>` or `member:<id>`.
    pub caller: &'a str,
}

impl<'a> KeyScope<'a> {
    pub fn new(bank_id: i64, caller: &'a str) -> KeyScope<'a> {
        KeyScope { bank_id, caller }
    }
}

/// Runs `effect` at most once per `(bank, caller, key)`. The key row is inserted *before* the effect:
/// a concurrent request with the same key then waits on it (PostgreSQL) and fails with a unique
/// violation once the first commits, which the caller turns into a replay by retrying.
pub fn once<T, F>(
    conn: &mut Db,
    scope: KeyScope<'_>,
    key: Option<&str>,
    request_hash: &str,
    now: i64,
    effect: F,
) -> ServiceResult<(T, Outcome)>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce(&mut Db) -> ServiceResult<T>,
{
    let Some(key) = key else {
        return Ok((effect(conn)?, Outcome::Fresh));
    };
    let existing: Option<(String, String)> = idempotency_keys::table
        .find((scope.bank_id, scope.caller, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_body,
        ))
        .first(conn)
        .optional()?;
    if let Some((stored_hash, body)) = existing {
        if stored_hash != request_hash {
            return Err(ServiceError::IdempotencyConflict);
        }
        // A result stored by an earlier version in another shape (until the retention period
        // forgets it) cannot be replayed; the effect happened once, so say so instead of failing.
        let value = serde_json::from_str(&body).map_err(|e| {
            tracing::warn!(error = %e, "stored idempotent result in an older shape");
            ServiceError::IdempotencyReplayUnavailable
        })?;
        return Ok((value, Outcome::Replayed));
    }
    let claimed = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::bank_id.eq(scope.bank_id),
            idempotency_keys::caller.eq(scope.caller),
            idempotency_keys::idem_key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::response_body.eq(""),
            idempotency_keys::created_at.eq(now),
        ))
        .execute(conn);
    match claimed {
        Ok(_) => {}
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(ServiceError::IdempotencyRace),
        Err(other) => return Err(other.into()),
    }
    let value = effect(conn)?;
    let body = serde_json::to_string(&value).map_err(|e| ServiceError::Internal(e.into()))?;
    diesel::update(idempotency_keys::table.find((scope.bank_id, scope.caller, key)))
        .set(idempotency_keys::response_body.eq(body))
        .execute(conn)?;
    Ok((value, Outcome::Fresh))
}

/// Forgets keys older than `cutoff` (retention is configurable; default seven days).
pub fn purge_older_than(conn: &mut Db, cutoff: i64) -> ServiceResult<usize> {
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
            .execute(conn)?,
    )
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::service::testing::Village;

    /// A result as an earlier version stored it.
    #[derive(Debug, Serialize, Deserialize)]
    struct OldView {
        amount: String,
    }

    /// The same result in today's shape.
    #[derive(Debug, Serialize, Deserialize)]
    struct Record {
        amount_minor: i64,
    }

    fn under_key<T: Serialize + DeserializeOwned>(
        village: &Village,
        make: impl Fn() -> T,
    ) -> ServiceResult<(T, Outcome)> {
        let scope = KeyScope::new(village.bank_id, "staff:1");
        village
            .store
            .write(|c| once(c, scope, Some("k-1"), "fingerprint", 0, |_| Ok(make())))
    }

    #[test]
    fn a_retry_replays_the_stored_result() {
        let village = Village::fresh();
        under_key(&village, || Record { amount_minor: 500 }).expect("first");
        let (replayed, outcome) =
            under_key(&village, || Record { amount_minor: 999 }).expect("retry");
        assert_eq!((replayed.amount_minor, outcome), (500, Outcome::Replayed));
    }

    #[test]
    fn a_result_stored_in_an_older_shape_is_not_replayed_and_not_repeated() {
        let village = Village::fresh();
        under_key(&village, || OldView {
            amount: "5.00".into(),
        })
        .expect("before the upgrade");
        let retry = under_key(&village, || Record { amount_minor: 500 });
        assert_eq!(
            retry.err().map(|e| e.code()),
            Some("idempotency_replay_unavailable")
        );
    }
}
