//! The book's use-cases: banks and their accounts (`banks`, `accounts`), journal entries and
//! reversals (`entries`), holds on wallets (`holds`), and the hash chain over the journal
//! (`sealing`, checked by `verify`).

pub mod accounts;
pub mod banks;
pub mod entries;
pub mod holds;
pub mod sealing;
pub mod verify;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::idempotency::{self, KeyScope, Outcome};
use crate::db::Db;
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::{Idempotency, Store};

/// One write on a bank's book that takes effect once per idempotency key: the staff member may
/// do `action` on the bank, then `effect(conn, unit path, now)` runs, or its stored result of an
/// earlier request with the same key is replayed.
fn once_in_bank<T, F>(
    store: &Store,
    staff: &Staff,
    action: Action,
    idempotency: &Idempotency,
    bank_id: i64,
    effect: F,
) -> ServiceResult<(T, Outcome)>
where
    T: Serialize + DeserializeOwned,
    F: Fn(&mut Db, &str, i64) -> ServiceResult<T>,
{
    let guard = staff.guard(action);
    store.write(|conn| {
        let now = store.now();
        let path = guard.bank(conn, bank_id)?;
        idempotency::once(
            conn,
            KeyScope::new(bank_id, staff.actor()),
            idempotency.key.as_deref(),
            &idempotency.fingerprint,
            now,
            |conn| effect(conn, &path, now),
        )
    })
}
